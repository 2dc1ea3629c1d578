package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/backchannel/backchannel/internal/talks"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Key is a server's Ed25519 signing key for checkpoints, with its name
// (the server name, which begins each of its talks' origins).
type Key struct {
	signer   note.Signer
	verifier note.Verifier
	vkey     string
}

// NewKey returns the key of an encoded note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64>", as note.GenerateKey makes).
func NewKey(skey string) (*Key, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, errorf("signing key: %w", err)
	}
	// The signer key holds the Ed25519 seed after an algorithm byte; the
	// verifier key is derived from it, as note does not expose it.
	// Only the last part, base64, may hold '+'.
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, errorf("signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, errorf("signing key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, errorf("signing key: %w", err)
	}
	return &Key{signer: s, verifier: v, vkey: vkey}, nil
}

var _ talks.Notary = (*Key)(nil)

// GenerateKey returns a new random key named name, and its encoded signer
// key, which must be kept secret.
func GenerateKey(name string) (k *Key, skey string, err error) {
	if !validOrigin(name) {
		return nil, "", errorf("key name %q: want non-empty text without spaces or '+'", name)
	}
	skey, _, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, "", errorf("generate key: %w", err)
	}
	k, err = NewKey(skey)
	return k, skey, err
}

// Name returns the key's name, the server name.
func (k *Key) Name() string { return k.signer.Name() }

// Signer returns the note signer of k.
func (k *Key) Signer() note.Signer { return k.signer }

// Verifier returns the note verifier of k's public half.
func (k *Key) Verifier() note.Verifier { return k.verifier }

// VerifierKey returns the encoded public key ("<name>+<hash>+<base64>"),
// which members give to "backchannel verify --key".
func (k *Key) VerifierKey() string { return k.vkey }

// LoadOrCreateKey returns the key kept in the file at path, creating the
// file with a new key named name, readable by its owner only (0600), if it
// does not exist. It refuses a file that others may read or write, and a
// key with another name.
func LoadOrCreateKey(path, name string) (*Key, error) {
	k, skey, err := GenerateKey(name)
	if err != nil {
		return nil, err
	}
	// O_EXCL: two servers starting at once must not overwrite each
	// other's key; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = f.WriteString(skey + "\n")
		if err1 := f.Sync(); err == nil {
			err = err1
		}
		if err1 := f.Close(); err == nil {
			err = err1
		}
		if err != nil {
			os.Remove(path)
			return nil, errorf("write key file: %w", err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, errorf("create key file: %w", err)
	}
	return LoadKey(path, name)
}

// LoadKey returns the key kept in the file at path. It refuses a file that
// others may read or write and, unless name is empty, a key with another
// name.
func LoadKey(path, name string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, errorf("key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, errorf("key file %s is not a regular file", path)
	}
	// Windows has no Unix permission bits to check.
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, errorf("key file %s has permissions %04o, so group or others may use it: run chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errorf("key file: %w", err)
	}
	k, err := NewKey(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if name != "" && k.Name() != name {
		return nil, errorf("key file %s holds a key named %q, not %q", path, k.Name(), name)
	}
	return k, nil
}

// SignCheckpoint returns the signed checkpoint of talk talkID's tree of
// size leaves with the given root, its origin Origin(k.Name(), talkID).
// It implements talks.Notary, so that a store signs with k.
func (k *Key) SignCheckpoint(talkID, size int64, root [32]byte) ([]byte, error) {
	return Checkpoint{Origin: Origin(k.Name(), talkID), Size: size, Root: tlog.Hash(root)}.Sign(k.signer)
}
