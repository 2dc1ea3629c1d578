package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

// Handlers of signers' keys (member signatures, issue 7).

// signedBody is the optional signature a request of a signed kind of
// action carries when its signer holds its own key (backchannel sign).
type signedBody struct {
	Signed *talks.ClientSignature `json:"signed,omitempty"`
}

// context returns r's context with the request's signature, if any.
func (b *signedBody) context(r *http.Request) context.Context {
	return talks.NewContextWithSignature(r.Context(), b.Signed)
}

// SignerKey is a signer's public key in a talk.
type SignerKey struct {
	Signer    string    `json:"signer"`
	PublicKey []byte    `json:"public_key"` // Ed25519, standard base64
	Holder    string    `json:"holder"`     // server or client
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) handleKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	k, err := s.svc.FindKey(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, SignerKey{Signer: k.Signer, PublicKey: k.Public, Holder: k.Holder, CreatedAt: k.CreatedAt})
	return nil
}

// requestOrigin returns the origin the request was sent to, which a key
// file names.
func requestOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func (s *Server) handleExportKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	k, err := s.svc.ExportKey(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="talk-%d-key.txt"`, id))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(talks.FormatKeyFile(k, requestOrigin(r)))
	return nil
}

func (s *Server) handleReleaseKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.ReleaseKey(r.Context(), id); err != nil {
		return err
	}
	s.broker.Notify(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// registerKeyRequest is the body of PUT /talks/{id}/key: a public key the
// signer generated itself, and its proof of possession.
type registerKeyRequest struct {
	PublicKey []byte                 `json:"public_key"` // Ed25519, standard base64
	Signed    *talks.ClientSignature `json:"signed"`
}

func (s *Server) handleRegisterKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req registerKeyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	k, err := s.svc.RegisterKey(r.Context(), id, req.PublicKey, req.Signed)
	if err != nil {
		return err
	}
	s.broker.Notify(id)
	writeJSON(w, http.StatusOK, SignerKey{Signer: k.Signer, PublicKey: k.Public, Holder: k.Holder, CreatedAt: k.CreatedAt})
	return nil
}
