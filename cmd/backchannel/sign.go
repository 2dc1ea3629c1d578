package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/backchannel/backchannel/internal/talks"
)

const signUsage = `Usage: backchannel sign --key FILE [--post URL --token TOKEN] ACTION [flags]

Signs one action with a member key you exported from the server (GET
/api/v1/talks/{id}/key/private, or "Download my key" on the talk's record
page) and prints the request that submits it: the route on standard error,
the JSON body on standard output. With --post, sends it to the server at URL
(by default the origin the key file names) with the API token TOKEN, and
prints the answer. A statement is valid for 10 minutes.

Actions:
  propose --track ID --title T --values ISSUE=VALUE,... [--clause ISSUE=TEXT]... [--rationale R]
  counter --parent VERSION --values ISSUE=VALUE,... [--clause ISSUE=TEXT]... [--rationale R]
  answer  --version ID --kind accept|reject
  mandate --envoy MEMBER --allowed ISSUE=V1|V2,... [--min-utility X]
  consent --revision N
  ratify  --decision ratify|reject [--comment C]
  reopen      (reopens the talk after a stakeholder rejected its agreement:
               the convener or a facilitator)
  register    (registers the key file's public key as yours: a key you made
               with backchannel keygen; the server then signs nothing for you)

Example:
  backchannel sign --key talk-3-key.txt answer --version 12 --kind accept
  backchannel sign --key talk-3-key.txt --post https://bc.example.org --token bct_... answer --version 12 --kind accept

Flags:
`

// signedRequest is an API request that carries a client signature.
type signedRequest struct {
	Method, Path string
	Body         map[string]any
}

// clauseFlags collects --clause ISSUE=TEXT.
type clauseFlags map[string]string

func (c clauseFlags) String() string { return "" }

func (c clauseFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want ISSUE=TEXT, got %q", s)
	}
	c[k] = v
	return nil
}

// parsePairs parses "a=b,c=d".
func parsePairs(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("want ISSUE=VALUE, got %q", kv)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func (m *Main) runSign(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { fmt.Fprint(m.Stderr, signUsage); fs.PrintDefaults() }
	keyFile := fs.String("key", "", "the member key file (required)")
	post := fs.String("post", "", "send the request to the server at this URL (\"origin\" for the key file's)")
	token := fs.String("token", "", "the API token for --post (or BACKCHANNEL_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" || fs.NArg() == 0 {
		fs.Usage()
		return usagef("sign: --key and an action are required")
	}
	data, err := os.ReadFile(*keyFile)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	key, origin, err := talks.ParseKeyFile(data)
	if err != nil {
		return usagef("sign: %s: %v", *keyFile, err)
	}
	req, err := buildSigned(key, time.Now(), fs.Arg(0), fs.Args()[1:], m.Stderr)
	if err != nil {
		return err
	}
	body, err := json.Marshal(req.Body)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if *post == "" {
		fmt.Fprintf(m.Stderr, "%s %s\n", req.Method, req.Path)
		fmt.Fprintf(m.Stdout, "%s\n", body)
		return nil
	}
	base := *post
	if base == "origin" {
		if origin == "" {
			return usagef("sign: %s names no origin: give --post URL", *keyFile)
		}
		base = origin
	}
	tok := *token
	if tok == "" {
		tok = os.Getenv("BACKCHANNEL_TOKEN")
	}
	if tok == "" {
		return usagef("sign: --post needs --token or BACKCHANNEL_TOKEN")
	}
	if _, err := m.send(ctx, base, tok, req.Method, req.Path, body); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

// errRefused is the error of a request the server answered with no 2xx.
var errRefused = errors.New("the server refused the request")

// send sends a request with JSON body (nil for none) to the server at base
// with the API token tok, prints the route, the status and the answer,
// and returns the answer; errRefused unless the status is 2xx.
func (m *Main) send(ctx context.Context, base, tok, method, path string, body []byte) ([]byte, error) {
	status, answer, err := request(ctx, base, tok, method, path, body)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(m.Stdout, "%s %s: %d %s\n%s\n", method, path, status, http.StatusText(status), bytes.TrimSpace(answer))
	if status/100 != 2 {
		return answer, errRefused
	}
	return answer, nil
}

// request sends a request with JSON body (nil for none) to the server at
// base with the API token tok, and returns the status and (the first MiB
// of) the answer.
func request(ctx context.Context, base, tok, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+path, rd)
	if err != nil {
		return 0, nil, usagef("--post: %v", err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, answer, nil
}

// buildSigned builds the statement of action (with its flags in args) by
// key's signer at time now, signs it and returns the request that submits
// it.
func buildSigned(key *talks.SignerKey, now time.Time, action string, args []string, stderr io.Writer) (*signedRequest, error) {
	fs := flag.NewFlagSet("sign "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		track, parent, version, envoy, revision int64
		title, values, rationale, kind, allowed string
		decision, comment                       string
		minUtility                              float64
	)
	clauses := clauseFlags{}
	st := &talks.Statement{Talk: key.TalkID, Signer: key.Signer, At: now.UTC().Format(time.RFC3339)}
	req := &signedRequest{Method: "POST", Body: map[string]any{}}
	need := func(name string, ok bool) error {
		if !ok {
			return usagef("sign %s: --%s is required", action, name)
		}
		return nil
	}
	switch action {
	case "propose", "counter":
		if action == "propose" {
			fs.Int64Var(&track, "track", 0, "the track")
			fs.StringVar(&title, "title", "", "the proposal's title")
		} else {
			fs.Int64Var(&parent, "parent", 0, "the version countered")
		}
		fs.StringVar(&values, "values", "", "the outcome: ISSUE=VALUE,...")
		fs.Var(clauses, "clause", "a clause: ISSUE=TEXT (repeatable)")
		fs.StringVar(&rationale, "rationale", "", "the rationale")
	case "answer":
		fs.Int64Var(&version, "version", 0, "the version answered")
		fs.StringVar(&kind, "kind", "", "accept or reject")
	case "mandate":
		fs.Int64Var(&envoy, "envoy", 0, "the envoy's member ID")
		fs.StringVar(&allowed, "allowed", "", "allowed values: ISSUE=V1|V2,... in the issue's order")
		fs.Float64Var(&minUtility, "min-utility", -1, "the minimum utility, in [0, 1]")
	case "consent":
		fs.Int64Var(&revision, "revision", 0, "the plan's revision")
	case "ratify":
		fs.StringVar(&decision, "decision", "", "ratify or reject")
		fs.StringVar(&comment, "comment", "", "the comment (required to reject)")
	case "reopen", "register":
	default:
		return nil, usagef("sign: unknown action %q (propose, counter, answer, mandate, consent, ratify, reopen, register)", action)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	} else if fs.NArg() > 0 {
		return nil, usagef("sign %s: unexpected %q", action, fs.Arg(0))
	}
	switch action {
	case "propose", "counter":
		if action == "propose" {
			if err := need("track", track > 0); err != nil {
				return nil, err
			}
			req.Path = fmt.Sprintf("/api/v1/tracks/%d/proposals", track)
			req.Body["title"] = title
		} else {
			if err := need("parent", parent > 0); err != nil {
				return nil, err
			}
			req.Path = fmt.Sprintf("/api/v1/versions/%d/counter", parent)
		}
		vals, err := parsePairs(values)
		if err != nil {
			return nil, usagef("sign %s: --values: %v", action, err)
		}
		*st = *talks.VersionStatement(key.TalkID, key.Signer, track, parent, vals, clauses, rationale)
		st.At = now.UTC().Format(time.RFC3339)
		req.Body["values"], req.Body["clauses"], req.Body["rationale"] = vals, map[string]string(clauses), rationale
	case "answer":
		if kind != string(talks.AnswerAccept) && kind != string(talks.AnswerReject) {
			return nil, usagef("sign answer: --kind must be accept or reject")
		} else if err := need("version", version > 0); err != nil {
			return nil, err
		}
		st.Action, st.Version, st.Kind = talks.ActionAnswer, version, talks.AnswerKind(kind)
		req.Path = fmt.Sprintf("/api/v1/versions/%d/answers", version)
		req.Body["kind"] = kind
	case "mandate":
		if err := need("envoy", envoy > 0); err != nil {
			return nil, err
		}
		md := &talks.Mandate{Allowed: map[string][]string{}}
		pairs, err := parsePairs(allowed)
		if err != nil {
			return nil, usagef("sign mandate: --allowed: %v", err)
		}
		for k, v := range pairs {
			md.Allowed[k] = strings.Split(v, "|")
		}
		if minUtility >= 0 {
			md.MinUtility = &minUtility
			req.Body["min_utility"] = minUtility
		}
		salt := make([]byte, 32)
		rand.Read(salt)
		d := talks.MandateDigest(salt, md.Body())
		st.Action, st.Envoy, st.Digest = talks.ActionMandate, envoy, talks.DigestHex(d)
		req.Method, req.Path = "PUT", fmt.Sprintf("/api/v1/talks/%d/mandates/%d", key.TalkID, envoy)
		req.Body["allowed"], req.Body["salt"] = md.Allowed, hex.EncodeToString(salt)
	case "consent":
		if err := need("revision", revision > 0); err != nil {
			return nil, err
		}
		st.Action, st.Revision = talks.ActionConsent, revision
		req.Path = fmt.Sprintf("/api/v1/talks/%d/disclosure/consent", key.TalkID)
		req.Body["revision"] = revision
	case "ratify":
		if decision != string(talks.DecisionRatify) && decision != string(talks.DecisionReject) {
			return nil, usagef("sign ratify: --decision must be ratify or reject")
		}
		comment = strings.TrimSpace(comment)
		st.Action, st.Decision, st.Comment = talks.ActionRatify, talks.Decision(decision), comment
		req.Path = fmt.Sprintf("/api/v1/talks/%d/ratification", key.TalkID)
		req.Body["decision"], req.Body["comment"] = decision, comment
	case "reopen":
		*st = *talks.ReopenStatement(key.TalkID, key.Signer)
		st.At = now.UTC().Format(time.RFC3339)
		req.Path = fmt.Sprintf("/api/v1/talks/%d/reopen", key.TalkID)
	case "register":
		*st = *talks.KeyStatement(key.TalkID, key.Signer, key.Public)
		st.At = now.UTC().Format(time.RFC3339)
		req.Method, req.Path = "PUT", fmt.Sprintf("/api/v1/talks/%d/key", key.TalkID)
		req.Body["public_key"] = []byte(key.Public)
	}
	sg, err := talks.Sign(key.Private, st)
	if err != nil {
		return nil, err
	}
	req.Body["signed"] = talks.ClientSignature{Statement: sg.Statement, Sig: sg.Sig}
	return req, nil
}
