package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

const domains = "../../examples/domains"

// run runs the program in process, as a user would from a shell.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	err = m.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

type point struct {
	Outcome   map[string]string `json:"outcome"`
	Utilities []float64         `json:"utilities"`
}

type result struct {
	Outcomes         json.RawMessage `json:"outcomes"`
	Parties          []string        `json:"parties"`
	Reserved         []float64       `json:"reserved"`
	Frontier         []point         `json:"frontier"`
	Nash             *point          `json:"nash"`
	KalaiSmorodinsky *point          `json:"kalai_smorodinsky"`
	Egalitarian      *point          `json:"egalitarian"`
	MaxWelfare       *point          `json:"max_welfare"`
	ZOPA             bool            `json:"zopa"`
	Draft            *struct {
		point
		Rational   bool     `json:"rational"`
		Distance   *float64 `json:"distance"`
		Dominating []point  `json:"dominating"`
	} `json:"draft"`
}

func analyzeJSON(t *testing.T, args ...string) result {
	t.Helper()
	out, stderr, err := run(t, append([]string{"analyze", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("analyze %v: %v\n%s", args, err, stderr)
	}
	var r result
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("analyze %v: bad JSON: %v\n%s", args, err, out)
	}
	return r
}

// TestAnalyzeReference checks the reference values of examples/domains/README.md,
// computed with NegMAS under GENIUS rules and checked by an independent brute force.
func TestAnalyzeReference(t *testing.T) {
	type pair [2]float64
	tests := []struct {
		dir, p1, p2          string
		outcomes             string
		frontier             int
		nash, ks, egal, welf *pair
	}{
		{"Laptop", "laptop_buyer_utility.xml", "laptop_seller_utility.xml", "27", 4,
			&pair{1.0001, 0.8151}, &pair{0.8740, 0.8740}, &pair{0.8740, 0.8740}, &pair{1.0001, 0.8151}},
		{"FlightBookingA", "FlightBooking-A-prof1.xml", "FlightBooking-A-prof2.xml", "36", 4,
			&pair{0.7375, 0.9000}, &pair{0.7375, 0.9000}, &pair{0.7375, 0.9000}, &pair{0.7375, 0.9000}},
		{"ItexvsCypress", "ItexvsCypress_Cypress.xml", "ItexvsCypress_Itex.xml", "180", 18,
			&pair{0.6705, 0.7215}, &pair{0.6705, 0.7215}, &pair{0.6705, 0.7215}, &pair{0.6705, 0.7215}},
		{"EnglandZimbabwe", "England.xml", "Zimbabwe.xml", "576", 25,
			&pair{0.9109, 0.7332}, &pair{0.8223, 0.7866}, &pair{0.8223, 0.7866}, &pair{0.9109, 0.7332}},
		{"Grocery", "Grocery_domain_mary.xml", "Grocery_domain_sam.xml", "1600", 7,
			&pair{0.8400, 0.8950}, &pair{0.8400, 0.8950}, &pair{0.8400, 0.8950}, &pair{0.8400, 0.8950}},
		{"Lunch", "Lunch_util1.xml", "Lunch_util2.xml", "3840", 0, nil, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(domains, tt.dir)
			domain := findDomain(t, dir, tt.p1, tt.p2)
			r := analyzeJSON(t, domain, filepath.Join(dir, tt.p1), filepath.Join(dir, tt.p2))
			if string(r.Outcomes) != tt.outcomes {
				t.Errorf("outcomes = %s, want %s", r.Outcomes, tt.outcomes)
			}
			if len(r.Frontier) != tt.frontier {
				t.Errorf("frontier has %d points, want %d", len(r.Frontier), tt.frontier)
			}
			if r.ZOPA != (tt.frontier > 0) {
				t.Errorf("zopa = %v, want %v", r.ZOPA, tt.frontier > 0)
			}
			for _, c := range []struct {
				name string
				got  *point
				want *pair
			}{
				{"nash", r.Nash, tt.nash},
				{"kalai_smorodinsky", r.KalaiSmorodinsky, tt.ks},
				{"egalitarian", r.Egalitarian, tt.egal},
				{"max_welfare", r.MaxWelfare, tt.welf},
			} {
				switch {
				case c.want == nil && c.got != nil:
					t.Errorf("%s = %v, want null", c.name, c.got.Utilities)
				case c.want != nil && c.got == nil:
					t.Errorf("%s = null, want %v", c.name, *c.want)
				case c.want != nil:
					if len(c.got.Utilities) != 2 || !near4(c.got.Utilities[0], c.want[0]) || !near4(c.got.Utilities[1], c.want[1]) {
						t.Errorf("%s = %v, want %v", c.name, c.got.Utilities, *c.want)
					}
					if len(c.got.Outcome) == 0 {
						t.Errorf("%s has no outcome", c.name)
					}
				}
			}
		})
	}
}

// near4 reports whether got rounds to want at four decimals.
func near4(got, want float64) bool { return math.Abs(got-want) <= 0.00005+1e-12 }

// findDomain returns the file of dir that is neither profile.
func findDomain(t *testing.T, dir string, profiles ...string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name != profiles[0] && name != profiles[1] && strings.HasSuffix(name, ".xml") {
			return filepath.Join(dir, name)
		}
	}
	t.Fatalf("no domain file in %s", dir)
	return ""
}

func TestAnalyzeDirUsesAllProfiles(t *testing.T) {
	r := analyzeJSON(t, filepath.Join(domains, "ParsCat"))
	if len(r.Parties) != 3 || len(r.Reserved) != 3 {
		t.Fatalf("parties = %v, want the 3 profiles of ParsCat", r.Parties)
	}
	for _, p := range r.Frontier {
		if len(p.Utilities) != 3 || len(p.Outcome) != 8 {
			t.Fatalf("frontier point %v: want 3 utilities and 8 issues", p)
		}
	}
	if r.Nash == nil || !r.ZOPA {
		t.Errorf("ParsCat: nash = %v, zopa = %v; want a Nash point", r.Nash, r.ZOPA)
	}
}

func TestAnalyzeIntegerValuesPrintAsDecimalStrings(t *testing.T) {
	dir := filepath.Join(domains, "EnergyGrid")
	r := analyzeJSON(t, filepath.Join(dir, "energy_grid_domain.xml"), filepath.Join(dir, "consumer.xml"), filepath.Join(dir, "producer.xml"))
	if r.Nash == nil {
		t.Fatal("no Nash point")
	}
	for issue, v := range r.Nash.Outcome {
		if x, err := strconv.Atoi(v); err != nil || x < 8 || x > 14 {
			t.Errorf("Nash value of %q = %q, want a decimal integer 8..14", issue, v)
		}
	}
	if string(r.Outcomes) != "5764801" {
		t.Errorf("outcomes = %s, want 5764801", r.Outcomes)
	}
}

func TestAnalyzeTableGolden(t *testing.T) {
	out, _, err := run(t, "analyze", filepath.Join(domains, "Laptop"))
	if err != nil {
		t.Fatal(err)
	}
	out = strings.ReplaceAll(out, filepath.ToSlash(domains), "DOMAINS")
	golden := filepath.Join("testdata", "laptop.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("analyze Laptop output differs from %s (run with -update and review the diff):\n%s", golden, out)
	}
}

func TestAnalyzePlot(t *testing.T) {
	for _, ext := range []string{".svg", ".png"} {
		t.Run(ext, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "space"+ext)
			if _, stderr, err := run(t, "analyze", filepath.Join(domains, "EnglandZimbabwe"), "--plot", file); err != nil {
				t.Fatalf("analyze --plot: %v\n%s", err, stderr)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			magic := map[string]string{".svg": "<?xml", ".png": "\x89PNG"}[ext]
			if !bytes.HasPrefix(b, []byte(magic)) || len(b) < 1000 {
				t.Errorf("%s: %d bytes starting %q, want a %s file", file, len(b), b[:min(len(b), 8)], ext)
			}
			if ext == ".svg" && !bytes.Contains(b, []byte("Pareto frontier")) {
				t.Errorf("%s has no frontier legend", file)
			}
		})
	}
}

func TestAnalyzeErrors(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.xml")
	os.WriteFile(bad, []byte("<negotiation_template><utility_space><objective>"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "no command given"},
		{"unknown command", []string{"analyse-this"}, 2, `unknown command "analyse-this"`},
		{"no domain", []string{"analyze"}, 2, "give a domain folder"},
		{"missing folder", []string{"analyze", filepath.Join(tmp, "nope")}, 1, "no such file or directory"},
		{"file without profiles", []string{"analyze", filepath.Join(domains, "Laptop", "laptop_domain.xml")}, 2, "give its profiles after it"},
		{"bad plot extension", []string{"analyze", filepath.Join(domains, "Laptop"), "--plot", "x.gif"}, 2, "must end in .svg, .png or .pdf"},
		{"bad flag", []string{"analyze", "--nope"}, 2, ""},
		{"unknown value in draft", []string{"analyze", filepath.Join(domains, "Laptop"), "--outcome", "Laptop=Acer,Harddisk=60 Gb,External Monitor=19'' LCD"}, 2, `issue "Laptop" has no value "Acer"`},
		{"draft not issue=value", []string{"analyze", filepath.Join(domains, "Laptop"), "--outcome", "HP"}, 2, `"HP" is not issue=value`},
		{"negative frontier", []string{"analyze", filepath.Join(domains, "Laptop"), "--frontier", "-1"}, 2, "--frontier -1"},
		{"empty draft", []string{"analyze", filepath.Join(domains, "Laptop"), "--outcome", ""}, 2, "--outcome"},
		{"truncated domain", []string{"analyze", bad, filepath.Join(domains, "Laptop", "laptop_buyer_utility.xml")}, 1, "bad.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.args...)
			if err == nil {
				t.Fatalf("Run(%q) succeeded, want an error", tt.args)
			}
			if got := exitCode(err); got != tt.code {
				t.Errorf("Run(%q): exit code %d, want %d (err %v)", tt.args, got, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run(%q) err = %q, want it to mention %q", tt.args, err, tt.want)
			}
		})
	}
}

// BenchmarkAnalyze runs the whole command in process: load the files,
// analyse, and write the JSON. The process start that a shell adds is
// measured separately with hyperfine (docs/benchmarks.md).
func BenchmarkAnalyze(b *testing.B) {
	grid := filepath.Join(domains, "EnergyGrid")
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"Energy", []string{filepath.Join(domains, "Energy")}},
		{"EnergyGrid2", []string{filepath.Join(grid, "energy_grid_domain.xml"), filepath.Join(grid, "consumer.xml"), filepath.Join(grid, "producer.xml")}},
		{"Synthetic12x10", []string{"../../examples/synthetic/12x10"}},
		{"Synthetic12x10Opposed", []string{"../../examples/synthetic/12x10-opposed"}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			m := &Main{Stdout: io.Discard, Stderr: io.Discard}
			args := append([]string{"analyze", "--json"}, tt.args...)
			for b.Loop() {
				if err := m.Run(context.Background(), args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestAnalyzeDraft(t *testing.T) {
	laptop := filepath.Join(domains, "Laptop")
	tests := []struct {
		name      string
		draft     string
		efficient bool
	}{
		{"on the frontier", "Laptop=HP, Harddisk=60 Gb, External Monitor=19'' LCD", true},
		{"dominated", `{"Laptop": "Dell", "Harddisk": "60 Gb", "External Monitor": "20'' LCD"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyzeJSON(t, laptop, "--outcome", tt.draft, "--improvements", "0")
			d := r.Draft
			if d == nil {
				t.Fatal("no draft in the JSON")
			}
			if d.Distance == nil {
				t.Fatal("distance = null, want a number")
			}
			if tt.efficient != (*d.Distance < 1e-12) || tt.efficient != (len(d.Dominating) == 0) {
				t.Fatalf("distance %v with %d dominating outcomes; want efficient = %v", *d.Distance, len(d.Dominating), tt.efficient)
			}
			if !d.Rational {
				t.Errorf("rational = false, want true (reserved values are 0)")
			}
			prev := math.Inf(1)
			for _, p := range d.Dominating {
				gain := 1.0
				for i, u := range p.Utilities {
					if u < d.Utilities[i] {
						t.Errorf("%v does not dominate the draft %v", p.Utilities, d.Utilities)
					}
					gain *= u - d.Utilities[i]
				}
				if gain > prev+1e-12 {
					t.Errorf("dominating outcomes not sorted by Nash product of gains: %v after %v", gain, prev)
				}
				prev = gain
			}
			if !tt.efficient && len(d.Dominating) < 5 {
				t.Errorf("%d outcomes dominate the draft, want several (the frontier has 4 points, all better)", len(d.Dominating))
			}
		})
	}
}
