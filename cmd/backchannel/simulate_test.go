package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type simulateResult struct {
	Domain    string             `json:"domain"`
	Agents    []string           `json:"agents"`
	Profiles  []string           `json:"profiles"`
	Seed      uint64             `json:"seed"`
	Deadline  map[string]float64 `json:"deadline"`
	Agreement map[string]string  `json:"agreement"`
	Utilities []float64          `json:"utilities"`
	Rounds    int                `json:"rounds"`
	Steps     int                `json:"steps"`
	Time      float64            `json:"time"`
	Seconds   float64            `json:"seconds"`
	Setup     float64            `json:"setup_seconds"`
	Reason    string             `json:"reason"`
	Error     string             `json:"error"`
}

func simulateJSONOutput(t *testing.T, args ...string) (simulateResult, string) {
	t.Helper()
	out, stderr, err := run(t, append([]string{"simulate", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("simulate %v: %v\n%s", args, err, stderr)
	}
	var r simulateResult
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("simulate %v: bad JSON: %v\n%s", args, err, out)
	}
	return r, out
}

func TestSimulateJSON(t *testing.T) {
	laptop := filepath.Join(domains, "Laptop")
	r, out := simulateJSONOutput(t, laptop, "--agents", "boulware,conceder", "--seed", "7")
	// The fields other tools rely on, by name and JSON type.
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for key, kind := range map[string]string{"agreement": "object", "utilities": "array", "rounds": "number", "seconds": "number", "reason": "string"} {
		got := "missing"
		switch raw[key].(type) {
		case map[string]any:
			got = "object"
		case []any:
			got = "array"
		case float64:
			got = "number"
		case string:
			got = "string"
		}
		if got != kind {
			t.Errorf("%q is %s, want %s", key, got, kind)
		}
	}
	if r.Reason != "agreement" || len(r.Agreement) != 3 || len(r.Utilities) != 2 {
		t.Errorf("Boulware and Conceder on Laptop: reason %q, agreement %v, utilities %v; want an agreement on 3 issues", r.Reason, r.Agreement, r.Utilities)
	}
	if r.Rounds < 1 || r.Rounds > 1000 || r.Seed != 7 || r.Deadline["rounds"] != 1000 {
		t.Errorf("rounds %d, seed %d, deadline %v; want 1..1000, 7, 1000 rounds", r.Rounds, r.Seed, r.Deadline)
	}
	if r.Agents[0] != "boulware" || r.Profiles[0] != "laptop_buyer_utility" {
		t.Errorf("party 1 is %s with %s, want boulware with laptop_buyer_utility", r.Agents[0], r.Profiles[0])
	}
	for _, u := range r.Utilities {
		if u <= 0 || u > 1.001 {
			t.Errorf("utility %v out of (0, 1]", u)
		}
	}
}

func TestSimulateNoAgreement(t *testing.T) {
	r, out := simulateJSONOutput(t, filepath.Join(domains, "Laptop"), "--agents", "hardliner,hardliner", "--rounds", "20")
	if r.Reason != "deadline" || r.Agreement != nil || r.Rounds != 20 {
		t.Errorf("two hardliners: reason %q, agreement %v, rounds %d; want deadline, null, 20", r.Reason, r.Agreement, r.Rounds)
	}
	if !strings.Contains(out, `"agreement": null`) {
		t.Errorf("no agreement must print null:\n%s", out)
	}
}

// TestSimulateReproducible runs each agent against the random agent
// twice with the same seed, and once with another.
func TestSimulateReproducible(t *testing.T) {
	dir := filepath.Join(domains, "ItexvsCypress")
	strip := func(r simulateResult) simulateResult {
		r.Seconds, r.Setup = 0, 0
		return r
	}
	for _, a := range []string{"random", "boulware", "titfortat", "micro", "frequency"} {
		t.Run(a, func(t *testing.T) {
			x, _ := simulateJSONOutput(t, dir, "--agents", a+",random", "--seed", "3")
			y, _ := simulateJSONOutput(t, dir, "--agents", a+",random", "--seed", "3")
			xj, _ := json.Marshal(strip(x))
			yj, _ := json.Marshal(strip(y))
			if !bytes.Equal(xj, yj) {
				t.Errorf("same seed, different results:\n%s\n%s", xj, yj)
			}
		})
	}
	// Two random agents almost surely differ between seeds.
	differ := false
	x, _ := simulateJSONOutput(t, dir, "--agents", "random,random", "--seed", "1")
	for seed := 2; seed < 6 && !differ; seed++ {
		y, _ := simulateJSONOutput(t, dir, "--agents", "random,random", "--seed", string(rune('0'+seed)))
		xj, _ := json.Marshal(strip(x))
		yj, _ := json.Marshal(strip(y))
		differ = !bytes.Equal(xj, yj)
	}
	if !differ {
		t.Error("random agents negotiate identically under five seeds")
	}
}

func TestSimulateTable(t *testing.T) {
	out, _, err := run(t, "simulate", "--agents", "boulware,conceder", filepath.Join(domains, "Laptop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Domain     Laptop", "boulware", "laptop_seller_utility", "Agreement  Laptop=", "Reason     agreement", "Rounds", "Seconds"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestSimulateTrace(t *testing.T) {
	laptop := filepath.Join(domains, "Laptop")
	dir := t.TempDir()
	csvFile, jsonFile := filepath.Join(dir, "trace.csv"), filepath.Join(dir, "trace.json")
	r, _ := simulateJSONOutput(t, laptop, "--agents", "linear,conceder", "--trace", csvFile)
	f, err := os.Open(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("trace CSV: %v", err)
	}
	if len(rows) != r.Steps+1 {
		t.Errorf("trace CSV has %d rows, want a header and %d actions", len(rows), r.Steps)
	}
	if h := strings.Join(rows[0], ","); !strings.Contains(h, "utility_linear") || !strings.Contains(h, "Harddisk") {
		t.Errorf("trace CSV header %q lacks the parties and issues", h)
	}

	simulateJSONOutput(t, laptop, "--agents", "boulware,boulware", "--trace", jsonFile)
	b, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Parties []string         `json:"parties"`
		Trace   []map[string]any `json:"trace"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("trace JSON: %v", err)
	}
	if len(tr.Trace) == 0 || strings.Join(tr.Parties, ",") != "boulware-1,boulware-2" {
		t.Errorf("trace JSON: parties %v, %d events; want boulware-1, boulware-2 and events", tr.Parties, len(tr.Trace))
	}
}

func TestSimulatePlot(t *testing.T) {
	for _, ext := range []string{".svg", ".png"} {
		t.Run(ext, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "offers"+ext)
			if _, stderr, err := run(t, "simulate", filepath.Join(domains, "ItexvsCypress"), "--agents", "boulware,linear", "--plot", file); err != nil {
				t.Fatalf("simulate --plot: %v\n%s", err, stderr)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			magic := map[string]string{".svg": "<?xml", ".png": "\x89PNG"}[ext]
			if !bytes.HasPrefix(b, []byte(magic)) || len(b) < 1000 {
				t.Errorf("%s: %d bytes starting %q, want a %s file", file, len(b), b[:min(len(b), 8)], ext)
			}
			if ext == ".svg" {
				for _, want := range []string{"Pareto frontier", "offers of boulware", "offers of linear", "agreement"} {
					if !bytes.Contains(b, []byte(want)) {
						t.Errorf("%s has no %q legend", file, want)
					}
				}
			}
		})
	}
}

func TestSimulateErrors(t *testing.T) {
	laptop := filepath.Join(domains, "Laptop")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no domain", []string{"--agents", "boulware,linear"}, 2, "give a domain folder"},
		{"no agents", []string{laptop}, 2, "give the agents with --agents"},
		{"unknown agent", []string{laptop, "--agents", "boulware,smith"}, 2, `unknown agent "smith" (known: `},
		{"fewer agents than parties", []string{laptop, "--agents", "boulware"}, 2, "1 agents for the 2 parties"},
		{"more agents than parties", []string{laptop, "--agents", "boulware,linear,conceder"}, 2, "3 agents for the 2 parties"},
		{"zero rounds", []string{laptop, "--agents", "boulware,linear", "--rounds", "0"}, 2, "--rounds must be positive"},
		{"negative rounds", []string{laptop, "--agents", "boulware,linear", "--rounds", "-5"}, 2, "--rounds must be positive"},
		{"zero time", []string{laptop, "--agents", "boulware,linear", "--time", "0s"}, 2, "--time must be positive"},
		{"bad time", []string{laptop, "--agents", "boulware,linear", "--time", "soon"}, 2, "invalid value"},
		{"missing folder", []string{filepath.Join(laptop, "nope"), "--agents", "boulware,linear"}, 2, "does not exist"},
		{"missing profile", []string{filepath.Join(laptop, "laptop_domain.xml"), filepath.Join(laptop, "laptop_buyer_utility.xml"), filepath.Join(laptop, "nobody.xml"), "--agents", "boulware,linear"}, 2, "nobody.xml does not exist"},
		{"one profile", []string{filepath.Join(laptop, "laptop_domain.xml"), filepath.Join(laptop, "laptop_buyer_utility.xml"), "--agents", "boulware"}, 2, "1 profile: a negotiation needs at least 2 parties"},
		{"domain file alone", []string{filepath.Join(laptop, "laptop_domain.xml"), "--agents", "boulware,linear"}, 2, "give its profiles after it"},
		{"bad trace extension", []string{laptop, "--agents", "boulware,linear", "--trace", "x.txt"}, 2, "must end in .csv or .json"},
		{"bad plot extension", []string{laptop, "--agents", "boulware,linear", "--plot", "x.gif"}, 2, "must end in .svg, .png or .pdf"},
		{"negative turn limit", []string{laptop, "--agents", "boulware,linear", "--turn-limit", "-1s"}, 2, "--turn-limit must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"simulate"}, tt.args...)
			_, _, err := run(t, args...)
			if err == nil {
				t.Fatalf("Run(%q) succeeded, want an error", args)
			}
			if got := exitCode(err); got != tt.code {
				t.Errorf("Run(%q): exit code %d, want %d (err %v)", args, got, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Run(%q) err = %q, want one line mentioning %q", args, err, tt.want)
			}
		})
	}
}

func TestSimulateTimeDeadline(t *testing.T) {
	r, _ := simulateJSONOutput(t, filepath.Join(domains, "Laptop"), "--agents", "hardliner,hardliner", "--time", "20ms")
	if r.Reason != "deadline" || r.Deadline["rounds"] != 0 || r.Deadline["seconds"] != 0.02 {
		t.Errorf("--time alone: reason %q, deadline %v; want deadline, 0 rounds, 0.02 s", r.Reason, r.Deadline)
	}
}

// BenchmarkSimulateEnergy runs the whole command in process: load Energy
// (390,625 outcomes), build both agents' indexes, negotiate 1000 rounds,
// print the JSON.
func BenchmarkSimulateEnergy(b *testing.B) {
	b.ReportAllocs()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard}
	args := []string{"simulate", "--json", filepath.Join(domains, "Energy"), "--agents", "boulware,boulware", "--rounds", "1000"}
	for b.Loop() {
		if err := m.Run(context.Background(), args); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBadFlagOneLine checks that a bad flag gets only main's one-line
// error, not the flag package's message and the whole usage, while -h
// still prints the usage.
func TestBadFlagOneLine(t *testing.T) {
	for _, cmd := range []string{"analyze", "simulate", "tournament"} {
		_, stderr, err := run(t, cmd, "--bogus")
		if exitCode(err) != 2 || err == nil || !strings.Contains(err.Error(), "-bogus") {
			t.Errorf("%s --bogus: err %v (exit %d), want a usage error naming -bogus", cmd, err, exitCode(err))
		}
		if stderr != "" {
			t.Errorf("%s --bogus wrote %q to stderr, want nothing besides main's one line", cmd, stderr)
		}
		_, stderr, err = run(t, cmd, "-h")
		if !strings.Contains(stderr, "Usage:") || exitCode(err) != 2 {
			t.Errorf("%s -h: stderr %q, exit %d; want the usage and exit 2", cmd, stderr, exitCode(err))
		}
	}
}
