package genius_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

const smallDomain = `<negotiation_template>
<utility_space>
<objective index="0" name="d">
<issue index="1" name="colour" vtype="discrete">
<item index="1" value="red"/>
<item index="2" value="blue"/>
</issue>
<issue index="2" name="size" vtype="integer" lowerbound="1" upperbound="3"/>
</objective>
</utility_space>
</negotiation_template>
`

const smallProfile = `<utility_space>
<objective index="0" name="d">
<issue index="1" name="colour" vtype="discrete">
<item index="1" value="red" evaluation="2"/>
<item index="2" value="blue" evaluation="1"/>
</issue>
<issue index="2" name="size" vtype="integer" lowerbound="1" upperbound="3">
<evaluator ftype="linear" slope="0.5" offset="0"/>
</issue>
<weight index="1" value="0.6"/>
<weight index="2" value="0.4"/>
</objective>
<reservation value="0.2"/>
</utility_space>
`

func TestReadErrors(t *testing.T) {
	space, err := genius.ReadDomain(strings.NewReader(smallDomain))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := genius.ReadProfile(strings.NewReader(smallProfile), space); err != nil {
		t.Fatal(err)
	}
	profile := func(old, new string) string {
		if !strings.Contains(smallProfile, old) {
			t.Fatalf("profile has no %q", old)
		}
		return strings.Replace(smallProfile, old, new, 1)
	}
	tests := []struct {
		name  string
		read  func(string) error
		input string
		want  error
		line  int
		text  string // in the message
	}{
		{"truncated domain", readDomain, smallDomain[:len(smallDomain)/2], genius.ErrFormat, 6, "unexpected EOF"},
		{"profile as domain", readDomain, smallProfile, genius.ErrFormat, 1, "this is a profile"},
		{"domain as profile", readProfile(space), smallDomain, genius.ErrFormat, 1, "this is a domain"},
		{"wrong root", readDomain, "<html><body/></html>", genius.ErrFormat, 1, "<html>"},
		{"empty", readDomain, "  \n", genius.ErrFormat, 0, "no XML element"},
		{"domain without values", readDomain, strings.Replace(smallDomain, `<item index="1" value="red"/>
<item index="2" value="blue"/>`, "", 1), outcome.ErrInvalidIssue, 4, "has no values"},
		{"huge issue", readDomain, strings.Replace(smallDomain, `upperbound="3"`, `upperbound="2000000000"`, 1), nil, 8, "values"},
		{"unknown value", readProfile(space), profile(`value="blue" evaluation`, `value="green" evaluation`), outcome.ErrUnknownValue, 5, `issue "colour" has no value "green"`},
		{"missing value", readProfile(space), profile(`<item index="2" value="blue" evaluation="1"/>`, ""), genius.ErrMismatch, 3, `no evaluation for value "blue"`},
		{"unknown issue", readProfile(space), profile(`name="size"`, `name="weight"`), outcome.ErrUnknownIssue, 7, `"weight"`},
		{"missing evaluator", readProfile(space), profile(`<evaluator ftype="linear" slope="0.5" offset="0"/>`, ""), genius.ErrFormat, 7, "no <evaluator>"},
		{"missing slope", readProfile(space), profile(`slope="0.5" `, ""), genius.ErrInvalid, 8, "missing attribute slope"},
		{"negative weight", readProfile(space), profile(`value="0.4"`, `value="-0.4"`), genius.ErrInvalid, 11, "negative weight"},
		{"NaN weight", readProfile(space), profile(`value="0.4"`, `value="NaN"`), genius.ErrInvalid, 11, "not a finite number"},
		{"missing weight", readProfile(space), profile(`<weight index="2" value="0.4"/>`, ""), genius.ErrFormat, 7, `"size" (index 2) has no weight`},
		{"extra weight", readProfile(space), profile(`<weight index="2" value="0.4"/>`, `<weight index="2" value="0.4"/><weight index="3" value="0.1"/>`), genius.ErrFormat, 11, "index 3"},
		{"negative evaluation", readProfile(space), profile(`evaluation="2"`, `evaluation="-2"`), genius.ErrInvalid, 4, "negative evaluation"},
		{"bounds differ", readProfile(space), profile(`upperbound="3">`, `upperbound="4">`), genius.ErrMismatch, 7, "bounds"},
		{"bad reservation", readProfile(space), profile(`<reservation value="0.2"/>`, `<reservation value="x"/>`), genius.ErrInvalid, 13, "reservation"},
		{"negative discount", readProfile(space), profile(`<reservation value="0.2"/>`, `<discount_factor value="-1"/>`), genius.ErrInvalid, 13, "discount"},
		{"nested objective", readProfile(space), profile(`<weight index="1"`, `<objective index="5"/><weight index="1"`), genius.ErrUnsupported, 10, "nested objectives"},
		{"unknown type", readProfile(space), profile(`<utility_space>`, `<utility_space type="constraint">`), genius.ErrUnsupported, 1, "constraint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read(tt.input)
			checkError(t, err, tt.want, tt.line, tt.text)
		})
	}
}

func TestReadNonlinearErrors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(domainsDir, "ANAC2014_10issues", "profile-1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(data)
	tests := []struct {
		name     string
		old, new string
		want     error
		text     string
	}{
		{"excludes", `<INCLUDES index="2" min="7" max="9"/>`, `<EXCLUDES index="2" min="7" max="9"/>`, genius.ErrUnsupported, "EXCLUDES"},
		{"product", `aggregation="sum"`, `aggregation="product"`, genius.ErrUnsupported, "aggregation"},
		{"ufun weight", `weight="1" aggregation`, `weight="2" aggregation`, genius.ErrUnsupported, "weight"},
		{"bound outside", `min="7" max="9"`, `min="7" max="10"`, genius.ErrInvalid, "7..10"},
		{"unknown index", `<INCLUDES index="2" min="7" max="9"/>`, `<INCLUDES index="12" min="7" max="9"/>`, genius.ErrFormat, "index 12"},
		{"no max utility", `maxutility="662"`, ``, genius.ErrInvalid, "maxutility"},
		{"issue list differs", `name="c1-i9"`, `name="c1-i99"`, outcome.ErrUnknownIssue, "c1-i99"},
	}
	space, err := genius.LoadDir(filepath.Join(domainsDir, "ANAC2014_10issues"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(src, tt.old) {
				t.Fatalf("profile has no %q", tt.old)
			}
			_, err := genius.ReadProfile(strings.NewReader(strings.Replace(src, tt.old, tt.new, 1)), space.Space)
			checkError(t, err, tt.want, -1, tt.text)
		})
	}
}

func TestReadWebErrors(t *testing.T) {
	const domain = `{"name": "d", "issuesValues": {
  "colour": {"values": ["red", "blue"]},
  "size": {"range": {"low": 1, "high": 3, "step": 1}}
}}`
	const profile = `{"LinearAdditiveUtilitySpace": {
  "issueWeights": {"colour": 0.6, "size": 0.4},
  "issueUtilities": {
    "colour": {"discreteutils": {"valueUtilities": {"red": 1, "blue": 0.5}}},
    "size": {"numberutils": {"lowValue": 1, "lowUtility": 0, "highValue": 3, "highUtility": 1}}
  },
  "reservationBid": null
}}`
	space, err := genius.ReadWebDomain(strings.NewReader(domain))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := genius.ReadWebProfile(strings.NewReader(profile), space); err != nil {
		t.Fatal(err)
	}
	repl := func(src, old, new string) string {
		if !strings.Contains(src, old) {
			t.Fatalf("no %q in %s", old, src)
		}
		return strings.Replace(src, old, new, 1)
	}
	read := func(s string) error {
		_, err := genius.ReadWebProfile(strings.NewReader(s), space)
		return err
	}
	readDom := func(s string) error {
		_, err := genius.ReadWebDomain(strings.NewReader(s))
		return err
	}
	tests := []struct {
		name  string
		read  func(string) error
		input string
		want  error
		line  int
		text  string
	}{
		{"truncated", read, profile[:len(profile)/2], genius.ErrFormat, 4, "unexpected end"},
		{"syntax", read, repl(profile, `"size": 0.4`, `"size" 0.4`), genius.ErrFormat, 2, "invalid character"},
		{"unknown value", read, repl(profile, `"blue": 0.5`, `"green": 0.5`), outcome.ErrUnknownValue, 4, `issue "colour" has no value "green"`},
		{"missing value", read, repl(profile, `, "blue": 0.5`, ``), genius.ErrMismatch, 4, `no utility for value "blue"`},
		{"utility above 1", read, repl(profile, `"blue": 0.5`, `"blue": 1.5`), genius.ErrInvalid, 4, "outside [0, 1]"},
		{"missing weight", read, repl(profile, `, "size": 0.4`, ``), genius.ErrFormat, 2, `"size" has no weight`},
		{"negative weight", read, repl(profile, `"size": 0.4`, `"size": -0.4`), genius.ErrInvalid, 2, "negative weight"},
		{"unknown issue", read, repl(profile, `"size": 0.4`, `"size": 0.4, "shape": 0`), outcome.ErrUnknownIssue, 2, `"shape"`},
		{"missing utilities", read, repl(profile, `"size": {"numberutils"`, `"shape": {"numberutils"`), outcome.ErrUnknownIssue, 3, `"shape"`},
		{"wrong type", read, repl(profile, `"LinearAdditiveUtilitySpace"`, `"SumOfGroupsUtilitySpace"`), genius.ErrUnsupported, 1, "SumOfGroupsUtilitySpace"},
		{"bad bid", read, repl(profile, `null`, `{"issuevalues": {"colour": "red", "size": 7}}`), outcome.ErrUnknownValue, 7, `"size" has no value "7"`},
		{"domain as profile", read, domain, genius.ErrFormat, 1, "keys"},
		{"profile as domain", readDom, profile, genius.ErrFormat, 1, "this is a profile"},
		{"range without step", readDom, repl(domain, `, "step": 1`, ``), genius.ErrFormat, 3, "missing step"},
		{"duplicate key", readDom, repl(domain, `"size": {`, `"colour": {`), genius.ErrFormat, 3, `key "colour" twice`},
		{"duplicate value", readDom, repl(domain, `"blue"]`, `"red"]`), outcome.ErrInvalidIssue, 2, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, tt.read(tt.input), tt.want, tt.line, tt.text)
		})
	}
}

// TestLoadErrors checks that a loader names the file and line.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	dom := write("domain.xml", smallDomain)
	bad := write("bad.xml", strings.Replace(smallProfile, `value="blue" evaluation`, `value="green" evaluation`, 1))
	_, err := genius.LoadFiles(dom, bad)
	if err == nil || !strings.HasPrefix(err.Error(), "genius: "+bad+":5: ") {
		t.Errorf("LoadFiles() error = %v, want it to start with genius: %s:5:", err, bad)
	}
	if _, err := genius.LoadDir(dir); !errors.Is(err, outcome.ErrUnknownValue) {
		t.Errorf("LoadDir() error = %v, want ErrUnknownValue", err)
	}
	if _, err := genius.LoadFiles(bad); !strings.Contains(fmt2(err), "a profile, not a domain") {
		t.Errorf("LoadFiles(profile) error = %v", err)
	}
	empty := t.TempDir()
	if _, err := genius.LoadDir(empty); !errors.Is(err, genius.ErrFormat) || !strings.Contains(err.Error(), "no domain file") {
		t.Errorf("LoadDir(empty) error = %v", err)
	}
	two := t.TempDir()
	for _, n := range []string{"a.xml", "b.xml"} {
		if err := os.WriteFile(filepath.Join(two, n), []byte(smallDomain), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := genius.LoadDir(two); err == nil || !strings.Contains(err.Error(), "two domain files, a.xml and b.xml") {
		t.Errorf("LoadDir(two domains) error = %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	s, err := outcome.NewSpace("s", outcome.NewInteger("n", 0, 4), outcome.NewDiscrete("bell\x07", "a"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := utility.NewLinearAdditive(s, []float64{1, 1}, []utility.Evaluator{
		utility.Scores{Utilities: []float64{0, 1, 0, 1, 0}}, // not linear in n
		utility.Discrete{Evals: []float64{1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &utility.Profile{Func: f, Discount: 1}
	var b strings.Builder
	if err := genius.WriteProfile(&b, p); !errors.Is(err, genius.ErrUnsupported) || !strings.Contains(err.Error(), "linear") {
		t.Errorf("WriteProfile(zigzag) error = %v, want ErrUnsupported", err)
	}
	if err := genius.WriteWebProfile(&b, p); !errors.Is(err, genius.ErrUnsupported) {
		t.Errorf("WriteWebProfile(zigzag) error = %v, want ErrUnsupported", err)
	}
	if err := genius.WriteDomain(&b, s); !errors.Is(err, genius.ErrUnsupported) || !strings.Contains(err.Error(), "XML") {
		t.Errorf("WriteDomain(control character) error = %v, want ErrUnsupported", err)
	}
	table, err := utility.NewTable(s, make([]float64, 5))
	if err != nil {
		t.Fatal(err)
	}
	if err := genius.WriteProfile(&b, &utility.Profile{Func: table}); !errors.Is(err, genius.ErrUnsupported) {
		t.Errorf("WriteProfile(table) error = %v, want ErrUnsupported", err)
	}
}

func readDomain(s string) error {
	_, err := genius.ReadDomain(strings.NewReader(s))
	return err
}

func readProfile(space *outcome.Space) func(string) error {
	return func(s string) error {
		_, err := genius.ReadProfile(strings.NewReader(s), space)
		return err
	}
}

func fmt2(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// checkError checks err wraps want (if not nil), is a *ParseError on line
// (unless line < 0), and says text.
func checkError(t *testing.T, err, want error, line int, text string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if want != nil && !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %q", err, want)
	}
	var pe *genius.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %q is %T, not a *ParseError", err, err)
	}
	if line >= 0 && pe.Line != line {
		t.Errorf("error %q is on line %d, want %d", err, pe.Line, line)
	}
	if !strings.Contains(err.Error(), text) || !strings.HasPrefix(err.Error(), "genius: ") {
		t.Errorf("error %q does not say %q", err, text)
	}
}
