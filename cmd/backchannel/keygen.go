package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

const keygenUsage = `Usage: backchannel keygen --talk ID [--signer SIGNER] [-o FILE] [--post URL --token TOKEN]

Generates an Ed25519 key pair on this machine for signing your actions in
talk ID, writes it to FILE in the format of an exported key (mode 0600; an
existing file is never overwritten), and prints its public key. The server
never sees the private half.

With --post, it then registers the public key as yours at the server at URL
with the API token TOKEN (PUT /api/v1/talks/ID/key, with a signature by the
new key that proves you hold it), and asks the server your signer name if
--signer is not given. Without --post, register the key later with:
  backchannel sign --key FILE --post URL --token TOKEN register
Once it is registered the server signs nothing for you: sign each proposal,
answer, mandate, consent or ratification with backchannel sign --key FILE.

SIGNER is member/MEMBER_ID, or stakeholder/USER_ID for a stakeholder
(GET /api/v1/talks/ID/key answers it).

Example:
  backchannel keygen --talk 3 --post https://bc.example.org --token bct_... -o talk-3-key.txt

Flags:
`

func (m *Main) runKeygen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, keygenUsage); fs.PrintDefaults() }
	talk := fs.Int64("talk", 0, "the talk's ID (required)")
	signer := fs.String("signer", "", "your signer name in the talk: member/ID or stakeholder/USER_ID (asked of the server with --post)")
	out := fs.String("o", "", "the key file to write (default talk-ID-key.txt)")
	origin := fs.String("origin", "", "the server the key file names (default the --post URL)")
	post := fs.String("post", "", "register the key at the server at this URL")
	token := fs.String("token", "", "the API token for --post (or BACKCHANNEL_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *talk <= 0 || fs.NArg() > 0 {
		fs.Usage()
		return usagef("keygen: --talk is required, and nothing else")
	}
	tok := *token
	if *post != "" {
		if tok == "" {
			tok = os.Getenv("BACKCHANNEL_TOKEN")
		}
		if tok == "" {
			return usagef("keygen: --post needs --token or BACKCHANNEL_TOKEN")
		}
		if *origin == "" {
			*origin = strings.TrimRight(*post, "/")
		}
	}
	if *signer == "" {
		if *post == "" {
			return usagef("keygen: --signer is required without --post")
		}
		s, err := m.askSigner(ctx, *post, tok, *talk)
		if err != nil {
			return err
		}
		*signer = s
	}
	if kind, id, _ := strings.Cut(*signer, "/"); (kind != "member" && kind != "stakeholder") || id == "" {
		return usagef("keygen: --signer %q: want member/MEMBER_ID or stakeholder/USER_ID", *signer)
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("talk-%d-key.txt", *talk)
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	k := &talks.SignerKey{TalkID: *talk, Signer: *signer, Public: pub, Private: priv, Holder: talks.KeyHolderClient}
	data := talks.FormatKeyFile(k, *origin)
	// The parser's checks are the format's: a signer it would refuse is a
	// mistake on the command line, found before anything is written.
	if _, _, err := talks.ParseKeyFile(data); err != nil {
		return usagef("keygen: %v", strings.TrimPrefix(err.Error(), "talks: key file: "))
	}
	if err := writeKeyFile(path, data); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(m.Stderr, "wrote %s (mode 0600): a key for %s in talk %d; keep it safe, the server cannot give it back\n", path, *signer, *talk)
	fmt.Fprintf(m.Stdout, "public key: %s\n", base64.StdEncoding.EncodeToString(pub))
	if *post == "" {
		fmt.Fprintf(m.Stderr, "register it with: backchannel sign --key %s --post URL --token TOKEN register\n", path)
		return nil
	}
	req, err := buildSigned(k, time.Now(), "register", nil, m.Stderr)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req.Body)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := m.send(ctx, *post, tok, req.Method, req.Path, body); err != nil {
		fmt.Fprintf(m.Stderr, "the key is in %s but not registered; try again with: backchannel sign --key %s --post %s register\n", path, path, *post)
		return fmt.Errorf("keygen: %w", err)
	}
	return nil
}

// writeKeyFile writes a new key file readable by its owner alone; it
// refuses to replace a file, which may hold a key still in use.
func writeKeyFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists already: choose another file with -o", path)
	} else if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// askSigner asks the server at base the caller's signer name in talk
// talkID.
func (m *Main) askSigner(ctx context.Context, base, tok string, talkID int64) (string, error) {
	path := fmt.Sprintf("/api/v1/talks/%d/key", talkID)
	status, answer, err := request(ctx, base, tok, "GET", path, nil)
	if err != nil {
		return "", fmt.Errorf("keygen: GET %s: %w; give --signer", path, err)
	} else if status/100 != 2 {
		return "", fmt.Errorf("keygen: GET %s: %d %s; give --signer", path, status, bytes.TrimSpace(answer))
	}
	var k struct {
		Signer string `json:"signer"`
	}
	if err := json.Unmarshal(answer, &k); err != nil || k.Signer == "" {
		return "", fmt.Errorf("keygen: GET %s answered no signer; give --signer", path)
	}
	return k.Signer, nil
}
