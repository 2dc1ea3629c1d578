package talks

import (
	"maps"
	"sync"
)

// textCache keeps the proposals and versions that Service has read, and
// the proposal of each version it has read or written. A proposal or a
// version never changes and never goes once stored, so what is kept is
// never stale; who may see it is still decided by the acting user's view
// of its track, on every call. A member who counters its own last
// counter-proposal, the common case, so finds the parent and its proposal
// without reading the store.
type textCache struct {
	mu        sync.Mutex
	proposals map[int64]*Proposal // by ID
	versions  map[int64]*Version  // by ID
	proposal  map[int64]int64     // proposal ID by version ID
}

// textCacheSize bounds each of textCache's maps; a full map is emptied.
const textCacheSize = 4 * viewCacheSize

// proposalOf returns proposal id, if kept, as a copy the caller owns.
func (c *textCache) proposalOf(id int64) *Proposal {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.proposals[id]; p != nil {
		cp := *p
		return &cp
	}
	return nil
}

// putProposal keeps (a copy of) p, as read from the store.
func (c *textCache) putProposal(p *Proposal) {
	cp := *p
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proposals == nil || len(c.proposals) >= textCacheSize {
		c.proposals = make(map[int64]*Proposal)
	}
	c.proposals[p.ID] = &cp
}

// version returns version id, if kept, as a copy the caller owns.
func (c *textCache) version(id int64) *Version {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.versions[id]; v != nil {
		return cloneVersion(v)
	}
	return nil
}

// putVersion keeps (a copy of) v, as read from the store, and its
// proposal.
func (c *textCache) putVersion(v *Version) {
	cp := cloneVersion(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.versions == nil || len(c.versions) >= textCacheSize {
		c.versions = make(map[int64]*Version)
	}
	c.versions[v.ID] = cp
	c.putProposalIDLocked(v.ID, v.ProposalID)
}

// proposalID returns the proposal of version id, if kept.
func (c *textCache) proposalID(id int64) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.proposal[id]
	return p, ok
}

// putProposalID keeps proposalID as the proposal of version id, which
// this service has just stored.
func (c *textCache) putProposalID(id, proposalID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putProposalIDLocked(id, proposalID)
}

func (c *textCache) putProposalIDLocked(id, proposalID int64) {
	if c.proposal == nil || len(c.proposal) >= textCacheSize {
		c.proposal = make(map[int64]int64)
	}
	c.proposal[id] = proposalID
}

func cloneVersion(v *Version) *Version {
	c := *v
	c.Values = maps.Clone(v.Values)
	c.Clauses = maps.Clone(v.Clauses)
	return &c
}
