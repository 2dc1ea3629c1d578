package ledger

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The example checkpoint of the C2SP tlog-checkpoint specification.
const (
	c2spBody = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	c2spNote = c2spBody + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)

func TestCheckpointC2SPExample(t *testing.T) {
	c, err := ParseCheckpoint([]byte(c2spBody))
	if err != nil {
		t.Fatalf("ParseCheckpoint(C2SP example): %v", err)
	}
	root, _ := tlog.ParseHash("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
	if c.Origin != "example.com/behind-the-sofa" || c.Size != 20852163 || c.Root != root || c.Extensions != nil {
		t.Errorf("ParseCheckpoint(C2SP example) = %+v", c)
	}
	text, err := c.MarshalText()
	if err != nil || string(text) != c2spBody {
		t.Errorf("MarshalText() = %q, %v; want %q", text, err, c2spBody)
	}

	// The example is a well-formed note signed by a key we do not know:
	// note.Open finds its text, and OpenCheckpoint says whose signature
	// is missing.
	other := testKey(t, "example.com/behind-the-sofa")
	_, err = note.Open([]byte(c2spNote), note.VerifierList(other.Verifier()))
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) || unverified.Note.Text != c2spBody {
		t.Errorf("note.Open(C2SP example) = %v, want an unverified note with the example body", err)
	}
	if text, ok := noteText([]byte(c2spNote)); !ok || string(text) != c2spBody {
		t.Errorf("noteText(C2SP example) = %q, %v", text, ok)
	}
	if _, err := OpenCheckpoint([]byte(c2spNote), other.Verifier()); err == nil || !strings.Contains(err.Error(), "not signed by key") {
		t.Errorf("OpenCheckpoint(C2SP example, another key) = %v, want not signed", err)
	}
}

func TestCheckpointSignOpen(t *testing.T) {
	k := testKey(t, "bc.example")
	c := Checkpoint{Origin: Origin("bc.example", 7), Size: 3, Root: tlog.RecordHash([]byte("r")), Extensions: []string{"ext one"}}
	msg, err := c.Sign(k.Signer())
	if err != nil {
		t.Fatal(err)
	}
	// The layout C2SP gives: body, blank line, "— <key name> <base64>".
	body, _ := c.MarshalText()
	if !bytes.HasPrefix(msg, append(body, "\n— bc.example "...)) {
		t.Errorf("Sign() = %q", msg)
	}
	got, err := OpenCheckpoint(msg, k.Verifier())
	if err != nil || got.Origin != c.Origin || got.Size != c.Size || got.Root != c.Root || len(got.Extensions) != 1 {
		t.Errorf("OpenCheckpoint(Sign(c)) = %+v, %v; want %+v", got, err, c)
	}
	if _, err := OpenCheckpoint(msg, testKey(t, "other.example").Verifier()); err == nil {
		t.Error("OpenCheckpoint with another key: no error")
	}
	// Same name, different key.
	impostor, _, _ := GenerateKey("bc.example")
	forged, _ := c.Sign(impostor.Signer())
	if _, err := OpenCheckpoint(forged, k.Verifier()); err == nil {
		t.Error("OpenCheckpoint of a checkpoint signed by an impostor key: no error")
	}
	tampered := bytes.Replace(msg, []byte("\n3\n"), []byte("\n4\n"), 1)
	if _, err := OpenCheckpoint(tampered, k.Verifier()); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("OpenCheckpoint of an edited checkpoint = %v, want invalid signature", err)
	}
}

func TestParseCheckpointMalformed(t *testing.T) {
	root := "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
	for name, text := range map[string]string{
		"empty":              "",
		"two lines":          "o\n1\n",
		"no final newline":   "o\n1\n" + root,
		"empty origin":       "\n1\n" + root + "\n",
		"leading zero":       "o\n01\n" + root + "\n",
		"sign":               "o\n+1\n" + root + "\n",
		"negative":           "o\n-1\n" + root + "\n",
		"size overflow":      "o\n9223372036854775808\n" + root + "\n",
		"short root":         "o\n1\nAAAA\n",
		"unpadded root":      "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
		"non-canonical root": "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
		"url-safe root":      "o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n",
		"empty extension":    "o\n1\n" + root + "\n\n",
		"control character":  "o\x01\n1\n" + root + "\n",
		"not UTF-8":          "o\xff\n1\n" + root + "\n",
		"crlf":               "o\r\n1\r\n" + root + "\r\n",
	} {
		if c, err := ParseCheckpoint([]byte(text)); !errors.Is(err, ErrMalformedCheckpoint) {
			t.Errorf("%s: ParseCheckpoint(%q) = %+v, %v; want ErrMalformedCheckpoint", name, text, c, err)
		}
	}
	if _, err := ParseCheckpoint([]byte("o\n0\n" + root + "\n")); err != nil {
		t.Errorf("ParseCheckpoint(size 0): %v", err)
	}
}

func TestCheckpointMarshalRefuses(t *testing.T) {
	for name, c := range map[string]Checkpoint{
		"empty origin":  {},
		"space":         {Origin: "a b"},
		"plus":          {Origin: "a+b"},
		"newline":       {Origin: "a\nb"},
		"negative":      {Origin: "a", Size: -1},
		"empty ext":     {Origin: "a", Extensions: []string{""}},
		"multiline ext": {Origin: "a", Extensions: []string{"x\ny"}},
	} {
		if _, err := c.MarshalText(); err == nil {
			t.Errorf("%s: MarshalText(%+v): no error", name, c)
		}
	}
}
