package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/backchannel/backchannel/internal/talks"
)

// Member signatures on the pages: the viewer's own key on the talk page
// (a member's) or the ratification page (a stakeholder's), and who signed
// the version shown on the proposal page.

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
	back := fmt.Sprintf("/talks/%d#signing-key", id)
	if r.PostFormValue("from") == "ratification" { // a stakeholder's page
		back = fmt.Sprintf("/talks/%d/ratification#signing-key", id)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// signingKey is what a page says of the viewer's key: the talk page a
// member's, the ratification page a stakeholder's.
type signingKey struct {
	TalkID      int64
	Holder      string // server, client, or "" for no key yet
	Fingerprint string // the public key's first 12 base64 characters
	Actions     string // what the viewer signs, in words
	From        string // "ratification" on a stakeholder's page
	Origin      string // the site's, for the command that registers a key
	CSRF        string // the release form's token
}

// signingKey returns what the page says of the acting signer's key in
// talk talkID; stakeholder says it is a stakeholder's page.
func (h *Handler) signingKey(r *http.Request, talkID int64, stakeholder bool) (*signingKey, error) {
	sk := &signingKey{TalkID: talkID, Actions: "proposals, answers, mandates and consents", Origin: h.siteOrigin(r)}
	if stakeholder {
		sk.Actions, sk.From = "ratification", "ratification"
	}
	if sess := sessionFromContext(r.Context()); sess != nil {
		sk.CSRF = talks.CSRFToken(h.csrfKey, sess)
	}
	k, err := h.svc.FindKey(r.Context(), talkID)
	if talks.ErrorCode(err) == talks.ENOTFOUND {
		return sk, nil
	} else if err != nil {
		return nil, err
	}
	sk.Holder, sk.Fingerprint = k.Holder, base64.StdEncoding.EncodeToString(k.Public)[:12]
	return sk, nil
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
