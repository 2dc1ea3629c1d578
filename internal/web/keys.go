package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
)

// Member signatures on the pages: the viewer's own key on the talk page,
// and who signed the version shown on the proposal page.

func (h *Handler) keyRoutes() []route {
	return []route{
		{"POST", "/talks/{id}/key/release", signedIn, h.handleReleaseKey},
	}
}

// handleReleaseKey drops the server's copy of the member's key, once the
// member says it has saved the key.
func (h *Handler) handleReleaseKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if r.PostFormValue("saved") != "yes" {
		return talks.Errorf(talks.EINVALID, "Confirm that you have saved your key: the server cannot give it back.")
	}
	if err := h.svc.ReleaseKey(r.Context(), id); err != nil {
		return err
	}
	wrote(r, id)
	http.Redirect(w, r, fmt.Sprintf("/talks/%d#signing-key", id), http.StatusSeeOther)
	return nil
}

// signingKey is what the talk page says of the viewer's key.
type signingKey struct {
	Holder      string // server, client, or "" for no key yet
	Fingerprint string // the public key's first 12 base64 characters
}

func (h *Handler) signingKey(ctx context.Context, talkID int64) (*signingKey, error) {
	k, err := h.svc.FindKey(ctx, talkID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return &signingKey{}, nil
	} else if err != nil {
		return nil, err
	}
	return &signingKey{Holder: k.Holder, Fingerprint: base64.StdEncoding.EncodeToString(k.Public)[:12]}, nil
}

// versionSignature says who signed version id, from the events the viewer
// sees: "" if it carries no signature, and whether the signer held its own
// key then.
func (h *Handler) versionSignature(ctx context.Context, talkID, id int64) (signed, ownKey bool, err error) {
	versions, err := h.svc.FindEvents(ctx, talks.EventFilter{TalkID: talkID, Type: talks.EventVersionProposed})
	if err != nil {
		return false, false, err
	}
	var sg *talks.Signed
	var seq int64
	for _, e := range versions {
		var p talks.VersionProposed
		if json.Unmarshal(e.Payload, &p) != nil || p.VersionID != id {
			continue
		}
		if sg, err = talks.EventSignature(e); err != nil || sg == nil {
			return false, false, nil
		}
		seq = e.ID
		break
	}
	if sg == nil {
		return false, false, nil
	}
	// Who held the signer's key when it signed: the last binding before.
	keys, err := h.svc.FindEvents(ctx, talks.EventFilter{TalkID: talkID, Type: talks.EventMemberKey})
	if err != nil {
		return false, false, err
	}
	var holder string
	for _, e := range keys {
		var p talks.MemberKey
		if e.ID < seq && json.Unmarshal(e.Payload, &p) == nil && p.Signer == sg.Signer {
			holder = p.Holder
		}
	}
	return true, holder == talks.KeyHolderClient, nil
}
