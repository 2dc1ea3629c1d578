package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backchannel/backchannel/internal/sqlite"
	"github.com/backchannel/backchannel/internal/talks"
)

// TestMain runs the command itself when BACKCHANNEL_TEST_MAIN is set, so
// that a test can start it as a process of its own and signal it.
func TestMain(m *testing.M) {
	if os.Getenv("BACKCHANNEL_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestServeSIGTERMInFlight starts serve as a process, begins a write whose
// body has not all arrived, and sends the process SIGTERM: the server
// stops taking connections, finishes the write (201, and durable), and
// exits 0.
func TestServeSIGTERMInFlight(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--db", db, "--demo")
	cmd.Env = append(os.Environ(), "BACKCHANNEL_TEST_MAIN=1")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error // once exited is closed
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitLog := func(re *regexp.Regexp) []string {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			if m := re.FindStringSubmatch(stderr.String()); m != nil {
				return m
			} else if time.Now().After(deadline) {
				t.Fatalf("no %s in the log:\n%s", re, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	base := waitLog(regexp.MustCompile(`msg=serving url=(\S+)`))[1]
	addr := strings.TrimPrefix(base, "http://")

	// Sign in as Northland's principal and make an API token.
	logins := demoLogins(t, stderr.String())
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	call(t, c, "", "POST", base+"/api/v1/login", map[string]string{"email": "amara@northland.example", "password": logins["amara@northland.example"]}, 200, &sess)
	var tok struct {
		Token string `json:"token"`
	}
	call(t, c, sess.CSRFToken, "POST", base+"/api/v1/tokens", map[string]string{"name": "shutdown"}, 201, &tok)
	var ts []struct {
		ID int64 `json:"id"`
	}
	call(t, c, "", "GET", base+"/api/v1/talks", nil, 200, &ts)
	var tracks []struct {
		ID   int64  `json:"id"`
		Kind string `json:"kind"`
	}
	call(t, c, "", "GET", fmt.Sprintf("%s/api/v1/talks/%d/tracks", base, ts[0].ID), nil, 200, &tracks)
	var official int64
	for _, tr := range tracks {
		if tr.Kind == "official" {
			official = tr.ID
		}
	}

	// The write: its headers and half its body, then SIGTERM.
	const text = "Sent across the shutdown."
	body := fmt.Sprintf(`{"body":%q}`, text)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/tracks/%d/messages HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		official, addr, tok.Token, len(body), body[:len(body)/2])
	time.Sleep(100 * time.Millisecond) // the server has read the headers
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(regexp.MustCompile(`msg="shutting down"`))
	for deadline := time.Now().Add(10 * time.Second); ; {
		// Shutdown first closes the listener.
		if nc, err := net.DialTimeout("tcp", addr, time.Second); err != nil {
			break
		} else if nc.Close(); time.Now().After(deadline) {
			t.Fatal("the server still takes connections 10 s after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-exited:
		t.Fatalf("serve exited (%v) with a request in flight:\n%s", waitErr, stderr.String())
	default:
	}
	io.WriteString(conn, body[len(body)/2:])
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the in-flight write's answer: %v\n%s", err, stderr.String())
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("the in-flight write answered %d %s, want 201", resp.StatusCode, got)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("serve exited with %v after SIGTERM:\n%s", waitErr, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not exit within 20 s of its last request")
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("no stop in the log:\n%s", stderr.String())
	}

	// What it acknowledged is in the database.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.FindMessages(context.Background(), talks.MessageFilter{TrackID: official})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ms); n == 0 || ms[n-1].Body != text {
		t.Errorf("the last message of the official track is not the in-flight write: %+v", ms)
	}
}

// call sends a JSON request with c (and csrf, if not empty) and decodes
// its answer, which must have status want, into out.
func call(t *testing.T, c *http.Client, csrf, method, url string, in any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, b)
		}
	}
}
