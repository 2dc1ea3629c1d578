package genius_test

import (
	"bytes"
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

const domainsDir = "../examples/domains"

// scenarios loads every scenario folder under examples/domains.
func scenarios(t testing.TB) map[string]*genius.Scenario {
	t.Helper()
	entries, err := os.ReadDir(domainsDir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*genius.Scenario)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sc, err := genius.LoadDir(filepath.Join(domainsDir, e.Name()))
		if err != nil {
			t.Fatalf("LoadDir(%s): %v", e.Name(), err)
		}
		out[e.Name()] = sc
	}
	return out
}

// outcomes yields every outcome of a space of at most a million, else a
// seeded sample of 10,000.
func outcomes(s *outcome.Space) iter.Seq[outcome.Outcome] {
	if n, ok := s.Size(); ok && n <= 1_000_000 {
		return s.All()
	}
	return func(yield func(outcome.Outcome) bool) {
		r := rand.New(rand.NewPCG(1, 2))
		o := make(outcome.Outcome, len(s.Issues))
		for range 10_000 {
			for i, is := range s.Issues {
				o[i] = r.IntN(is.Len())
			}
			if !yield(o) {
				return
			}
		}
	}
}

func near(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// sameFunc fails unless f and g agree on every outcome (or a sample).
func sameFunc(t testing.TB, what string, f, g utility.Func) {
	t.Helper()
	for o := range outcomes(f.Space()) {
		if a, b := f.Utility(o), g.Utility(o); !near(a, b) {
			t.Fatalf("%s: Utility(%s) = %v, want %v", what, f.Space().Format(o), b, a)
		}
	}
}

func TestLoadDir(t *testing.T) {
	all := scenarios(t)
	if len(all) != 18 {
		t.Errorf("loaded %d scenarios, want 18", len(all))
	}
	tests := []struct {
		dir      string
		domain   string
		profiles []string
		issues   int
		size     string
	}{
		{"Laptop", "laptop_domain.xml", []string{"laptop_buyer_utility", "laptop_seller_utility"}, 3, "27"},
		{"Car", "adg.xml", []string{"adg_deal", "adg_deal2"}, 6, "15625"},
		{"EnergyGrid", "energy_grid_domain.xml", []string{"consumer", "producer", "provider"}, 8, "5764801"},
		{"KillerRobot", "KillerRobot.xml", []string{"KillerRobot_util1", "KillerRobot_util2", "KillerRobot_util3", "KillerRobot_util4", "KillerRobot_util5"}, 6, "240000"},
		{"ANAC2014_10issues", "10issues-domain.xml", []string{"profile-1", "profile-2"}, 10, "10000000000"},
	}
	for _, tt := range tests {
		sc := all[tt.dir]
		if got := filepath.Base(sc.DomainFile); got != tt.domain {
			t.Errorf("%s: DomainFile = %s, want %s", tt.dir, got, tt.domain)
		}
		var names []string
		for _, p := range sc.Profiles {
			names = append(names, p.Name)
		}
		if !slices.Equal(names, tt.profiles) {
			t.Errorf("%s: profiles %v, want %v", tt.dir, names, tt.profiles)
		}
		if len(sc.Space.Issues) != tt.issues || sc.Space.Cardinality().String() != tt.size {
			t.Errorf("%s: %d issues, %s outcomes; want %d, %s", tt.dir, len(sc.Space.Issues), sc.Space.Cardinality(), tt.issues, tt.size)
		}
	}
	for name, sc := range all {
		if want := name == "ANAC2014_10issues"; (sc.Reference != nil) != want {
			t.Errorf("%s: Reference = %v", name, sc.Reference)
		}
	}
	ref := all["ANAC2014_10issues"].Reference
	if len(ref) != 10 || !slices.Equal(ref[0], []float64{0.67824775, 1.0}) || !slices.Equal(ref[9], []float64{1.0, 0.5943503}) {
		t.Errorf("ANAC2014 Reference = %v", ref)
	}

	// Reserved values and discounts as the domain README lists them.
	rd := []struct {
		dir                string
		reserved, discount float64
	}{
		{"Laptop", 0, 0.42441038},
		{"FlightBookingA", 0.5, 1},
		{"Lunch", 0.8, 0.5},
		{"SmartPhone", 0.6, 0.87},
		{"Wholesaler", 0.5, 1},
		{"SupermarketA", 0.5, 0.75},
		{"ANAC2014_10issues", 0, 1},
	}
	for _, tt := range rd {
		p := all[tt.dir].Profiles[0]
		if p.Reserved != tt.reserved || p.Discount != tt.discount {
			t.Errorf("%s: reserved %v, discount %v; want %v, %v", tt.dir, p.Reserved, p.Discount, tt.reserved, tt.discount)
		}
	}
	if d := all["FlightBookingA"].Profiles[1].Discount; d != 0.5 {
		t.Errorf("FlightBooking-A-prof2 discount = %v, want 0.5", d)
	}
}

// TestUtilities checks utilities worked out by hand with the GENIUS rules.
func TestUtilities(t *testing.T) {
	all := scenarios(t)
	tests := []struct {
		name    string
		dir     string
		profile int
		values  map[string]string
		want    float64
	}{
		{
			// Every value is the buyer's best; the weights add up to 1.00005.
			"laptop buyer best", "Laptop", 0,
			map[string]string{"Laptop": "HP", "Harddisk": "60 Gb", "External Monitor": "19'' LCD"},
			0.4452125771655631 + 0.37808251708013424 + 0.1767567099260568,
		},
		{
			// discrete: weight · evaluation / max evaluation
			"laptop seller", "Laptop", 1,
			map[string]string{"Laptop": "Dell", "Harddisk": "120 Gb", "External Monitor": "20'' LCD"},
			0.37808251708013424*12/30 + 0.1767567099260568*9/30 + 0.4452125771655631*2/3,
		},
		{
			// integer: weight · clamp(1 − 0.15·(x − 8), 0, 1)
			"energy grid consumer", "EnergyGrid", 0,
			map[string]string{
				"0:00-2:59 prices [cents/kWh]": "8", "3:00-5:59 prices [cents/kWh]": "10",
				"6:00-8:59 prices [cents/kWh]": "14", "9:00-11:59 prices [cents/kWh]": "9",
				"12:00-14:59 prices [cents/kWh]": "8", "15:00-17:59 prices [cents/kWh]": "12",
				"18:00-20:59 prices [cents/kWh]": "11", "21:00-23:59 prices [cents/kWh]": "13",
			},
			0.083*1 + 0.083*0.7 + 0.083*0.1 + 0.083*0.85 + 0.083*1 + 0.085*0.4 + 0.25*0.55 + 0.25*0.25,
		},
		{
			// discrete and integer issues mixed
			"killer robot", "KillerRobot", 0,
			map[string]string{"Torso": "Humanoid", "Propulsion": "Legs", "Guns": "10", "GunType": "Bullets", "Color": "Red", "Height (m)": "50"},
			0.22035198775630468*2/3 + 0.1612674898274903*3/4 +
				0.06113094952802134*(1-0.044444444444444446*9) + 0.16216554312686268*1/5 +
				0.23003625568900224*4/8 + 0.1650477740723188*(1-0.012244897959183673*49),
		},
		{
			// rectangles 2, 5, 7, 10, 14, 16 and 18 (1-based) contain it
			"anac2014 profile 1", "ANAC2014_10issues", 0,
			digits("3141592653"),
			(33.0 + 42 + 27 + 56 + 45 + 1 + 9) / 662,
		},
		{
			"anac2014 profile 2 zeros", "ANAC2014_10issues", 1,
			digits("0000000000"),
			(85.0 + 79 + 89 + 41 + 91 + 67 + 4 + 74) / 885,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := all[tt.dir]
			o, err := sc.Space.Parse(tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Profiles[tt.profile].Utility(o); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Utility(%s) = %v, want %v", sc.Space.Format(o), got, tt.want)
			}
		})
	}
}

// digits gives the ANAC 2014 issues, c1-i10 down to c1-i1, the values of s.
func digits(s string) map[string]string {
	m := make(map[string]string)
	for i, c := range s {
		m["c1-i"+strconv.Itoa(10-i)] = string(c)
	}
	return m
}

func TestRoundTripXML(t *testing.T) {
	for name, sc := range scenarios(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := genius.WriteDomain(&buf, sc.Space); err != nil {
				t.Fatal(err)
			}
			space, err := genius.ReadDomain(&buf)
			if err != nil {
				t.Fatalf("ReadDomain(WriteDomain()): %v", err)
			}
			if !reflect.DeepEqual(space, sc.Space) {
				t.Fatalf("ReadDomain(WriteDomain()) = %+v, want %+v", space, sc.Space)
			}
			for _, p := range sc.Profiles {
				buf.Reset()
				if err := genius.WriteProfile(&buf, p); err != nil {
					t.Fatalf("WriteProfile(%s): %v", p.Name, err)
				}
				q, err := genius.ReadProfile(&buf, space)
				if err != nil {
					t.Fatalf("ReadProfile(WriteProfile(%s)): %v\n%s", p.Name, err, buf.String())
				}
				if q.Reserved != p.Reserved || q.Discount != p.Discount {
					t.Errorf("%s: reserved %v, discount %v; want %v, %v", p.Name, q.Reserved, q.Discount, p.Reserved, p.Discount)
				}
				sameFunc(t, p.Name, p.Func, q.Func)
			}
		})
	}
}

func TestRoundTripWeb(t *testing.T) {
	for name, sc := range scenarios(t) {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := genius.WriteWebDomain(&buf, sc.Space); err != nil {
				t.Fatal(err)
			}
			space, err := genius.ReadWebDomain(&buf)
			if err != nil {
				t.Fatalf("ReadWebDomain(WriteWebDomain()): %v", err)
			}
			if !reflect.DeepEqual(space, sc.Space) {
				t.Fatalf("ReadWebDomain(WriteWebDomain()) = %+v, want %+v", space, sc.Space)
			}
			for _, p := range sc.Profiles {
				buf.Reset()
				err := genius.WriteWebProfile(&buf, p)
				if _, ok := p.Func.(*utility.HyperRectangle); ok {
					if !errors.Is(err, genius.ErrUnsupported) {
						t.Errorf("WriteWebProfile(%s) error = %v, want ErrUnsupported", p.Name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("WriteWebProfile(%s): %v", p.Name, err)
				}
				q, err := genius.ReadWebProfile(&buf, space)
				if err != nil {
					t.Fatalf("ReadWebProfile(WriteWebProfile(%s)): %v\n%s", p.Name, err, buf.String())
				}
				if q.Name != p.Name || q.Discount != 1 {
					t.Errorf("%s: name %q, discount %v", p.Name, q.Name, q.Discount)
				}
				sameFunc(t, p.Name, p.Func, q.Func)
				checkReservation(t, p, q.Reserved)
			}
		})
	}
}

// checkReservation checks that got, the utility of the reservation bid
// written for p, is the lowest utility not below p.Reserved.
func checkReservation(t *testing.T, p *utility.Profile, got float64) {
	t.Helper()
	if p.Reserved <= 0 {
		if got != 0 {
			t.Errorf("%s: reserved %v read back as %v, want 0", p.Name, p.Reserved, got)
		}
		return
	}
	if got < p.Reserved-1e-12 {
		t.Errorf("%s: reservation bid has utility %v, below the reserved value %v", p.Name, got, p.Reserved)
	}
	for o := range outcomes(p.Space()) {
		if u := p.Utility(o); u >= p.Reserved-1e-12 && u < got-1e-12 {
			t.Fatalf("%s: outcome %s has utility %v, between the reserved value %v and the reservation bid's %v", p.Name, p.Space().Format(o), u, p.Reserved, got)
		}
	}
}

func TestLargeIntegerBounds(t *testing.T) {
	// Bounds beyond 2^53 must not go through a float64.
	s, err := genius.ReadDomain(strings.NewReader(strings.Replace(smallDomain,
		`lowerbound="1" upperbound="3"`, `lowerbound="9007199254740993" upperbound="9007199254740995"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if is := s.Issues[1]; is.Lower != 9007199254740993 || is.Upper != 9007199254740995 {
		t.Errorf("bounds %d..%d, want 9007199254740993..9007199254740995", is.Lower, is.Upper)
	}
}

// TestScoresToXML checks that a GeniusWeb utility table whose best value is
// below 1 survives GENIUS's division by the largest evaluation.
func TestScoresToXML(t *testing.T) {
	s, err := outcome.NewSpace("s", outcome.NewDiscrete("a", "x", "y", "z"), outcome.NewInteger("n", 0, 4))
	if err != nil {
		t.Fatal(err)
	}
	f, err := utility.NewLinearAdditive(s, []float64{0.6, 0.4}, []utility.Evaluator{
		utility.Scores{Utilities: []float64{0.2, 0.5, 0}},
		utility.Ramp{LowValue: 0, LowUtility: 0.1, HighValue: 4, HighUtility: 0.9},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &utility.Profile{Name: "p", Func: f, Reserved: 0.3, Discount: 0.9}
	var buf bytes.Buffer
	if err := genius.WriteProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<weight index="1" value="0.3"/>`) {
		t.Errorf("WriteProfile() does not write weight 0.6·0.5:\n%s", buf.String())
	}
	q, err := genius.ReadProfile(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	sameFunc(t, "scores", f, q.Func)
	if q.Reserved != 0.3 || q.Discount != 0.9 {
		t.Errorf("reserved %v, discount %v; want 0.3, 0.9", q.Reserved, q.Discount)
	}
}

const realDomain = `<negotiation_template><utility_space><objective index="0" name="r">
<issue index="1" name="price" vtype="real"><range lowerbound="10" upperbound="20"/></issue>
<issue index="2" name="temp" vtype="real" lowerbound="0" upperbound="1" step="0.25"/>
<issue index="3" name="load" vtype="real" lowerbound="0" upperbound="4"/>
</objective></utility_space></negotiation_template>`
const realProfile = `<utility_space><objective index="0" name="r">
<issue index="1" name="price" vtype="real"><range lowerbound="10" upperbound="20"/>
  <evaluator ftype="linear" parameter0="2" parameter1="-0.1"/></issue>
<issue index="2" name="temp" vtype="real"><range lowerbound="0" upperbound="1"/>
  <evaluator ftype="triangular" parameter0="0" parameter1="1" parameter2="0.5"/></issue>
<issue index="3" name="load" vtype="real" lowerbound="0" upperbound="4">
  <evaluator ftype="constant" parameter0="0.5"/></issue>
<weight index="1" value="0.5"/><weight index="2" value="0.3"/><weight index="3" value="0.2"/>
</objective></utility_space>`

// TestReal checks the GENIUS real-issue evaluators, the default grid and
// the round trips of a real issue in both formats.
func TestReal(t *testing.T) {
	s, err := genius.ReadDomain(strings.NewReader(realDomain))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Issues[0].Len(); n != genius.RealSteps+1 {
		t.Errorf("price has %d grid points, want %d", n, genius.RealSteps+1)
	}
	if is := s.Issues[1]; is.Step != 0.25 || is.Len() != 5 {
		t.Errorf("temp: step %v, %d points; want 0.25, 5", is.Step, is.Len())
	}
	p, err := genius.ReadProfile(strings.NewReader(realProfile), s)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		price, temp, load string
		want              float64
	}{
		// linear in x itself: clamp(2 − 0.1·x, 0, 1); triangle peaks at 0.5
		{"10", "0", "0", 0.5*1 + 0.3*0 + 0.2*0.5},
		{"15", "0.25", "2", 0.5*0.5 + 0.3*0.5 + 0.2*0.5},
		{"20", "0.5", "4", 0.5*0 + 0.3*1 + 0.2*0.5},
		{"12.5", "0.75", "1.2", 0.5*0.75 + 0.3*0.5 + 0.2*0.5},
	}
	for _, tt := range tests {
		o, err := s.Parse(map[string]string{"price": tt.price, "temp": tt.temp, "load": tt.load})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Utility(o); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Utility(%s) = %v, want %v", s.Format(o), got, tt.want)
		}
	}
	var buf bytes.Buffer
	if err := genius.WriteProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := genius.ReadProfile(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	sameFunc(t, "real XML", p.Func, q.Func)

	// GeniusWeb: the triangle has no number-utility form.
	if err := genius.WriteWebProfile(&buf, p); !errors.Is(err, genius.ErrUnsupported) {
		t.Errorf("WriteWebProfile(triangle) error = %v, want ErrUnsupported", err)
	}
	buf.Reset()
	if err := genius.WriteWebDomain(&buf, s); err != nil {
		t.Fatal(err)
	}
	s2, err := genius.ReadWebDomain(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, s2) {
		t.Errorf("ReadWebDomain(WriteWebDomain()) = %+v, want %+v", s2, s)
	}
}

const webProfile = `{"LinearAdditiveUtilitySpace": {
  "name": "jobs1",
  "domain": {"name": "jobs", "issuesValues": {
    "lease car": {"values": ["yes", "no"]},
    "salary": {"range": {"low": 2000, "high": 4000, "step": 500}},
    "fte": {"range": {"low": 0.6, "high": 1.0, "step": 0.2}}}},
  "issueWeights": {"lease car": 0.2, "salary": 0.5, "fte": 0.3},
  "issueUtilities": {
    "lease car": {"discreteutils": {"valueUtilities": {"yes": 0.8, "no": 0.1}}},
    "salary": {"numberutils": {"lowValue": 2000, "lowUtility": 0, "highValue": 4000, "highUtility": 1}},
    "fte": {"NumberValueSetUtilities": {"lowValue": 0.6, "lowUtility": 1, "highValue": 1, "highUtility": 0.5}}},
  "reservationBid": {"issuevalues": {"lease car": "no", "salary": 3000, "fte": 1.0}}}}`

// TestWebProfile reads a GeniusWeb profile checked by hand: discrete
// utilities as they are, a number ramp, and a reservation bid.
func TestWebProfile(t *testing.T) {
	p, err := genius.ReadWebProfile(strings.NewReader(webProfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Space()
	if k := []outcome.Kind{s.Issues[0].Kind, s.Issues[1].Kind, s.Issues[2].Kind}; !slices.Equal(k, []outcome.Kind{outcome.Discrete, outcome.Real, outcome.Real}) {
		t.Errorf("kinds %v", k)
	}
	if p.Name != "jobs1" || s.Name != "jobs" {
		t.Errorf("names %q, %q", p.Name, s.Name)
	}
	// salary has step 500: a real issue; a step of 1 would make it integer.
	o, err := s.Parse(map[string]string{"lease car": "yes", "salary": "2500", "fte": "0.8"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Utility(o), 0.2*0.8+0.5*0.25+0.3*0.75; math.Abs(got-want) > 1e-12 {
		t.Errorf("Utility(%s) = %v, want %v", s.Format(o), got, want)
	}
	if want := 0.2*0.1 + 0.5*0.5 + 0.3*0.5; math.Abs(p.Reserved-want) > 1e-12 {
		t.Errorf("Reserved = %v, want %v", p.Reserved, want)
	}
	var buf bytes.Buffer
	if err := genius.WriteWebProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := genius.ReadWebProfile(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	sameFunc(t, "web", p.Func, q.Func)
	if !near(q.Reserved, p.Reserved) {
		t.Errorf("Reserved after round trip = %v, want %v", q.Reserved, p.Reserved)
	}
	// And through GENIUS XML: the real ramps are linear.
	buf.Reset()
	if err := genius.WriteProfile(&buf, p); err != nil {
		t.Fatal(err)
	}
	x, err := genius.ReadProfile(&buf, s)
	if err != nil {
		t.Fatal(err)
	}
	sameFunc(t, "web to XML", p.Func, x.Func)
}

// TestReservationBid compares the branch and bound with brute force on
// random additive functions.
func TestReservationBid(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		var issues []outcome.Issue
		var weights []float64
		var evs []utility.Evaluator
		for i := range 1 + r.IntN(4) {
			n := 1 + r.IntN(5)
			vals := make([]string, n)
			us := make([]float64, n)
			for k := range vals {
				vals[k] = string(rune('a' + k))
				us[k] = math.Round(r.Float64()*10) / 10
			}
			issues = append(issues, outcome.NewDiscrete(string(rune('A'+i)), vals...))
			weights = append(weights, r.Float64())
			evs = append(evs, utility.Scores{Utilities: us})
		}
		s, err := outcome.NewSpace("s", issues...)
		if err != nil {
			t.Fatal(err)
		}
		f, err := utility.NewLinearAdditive(s, weights, evs)
		if err != nil {
			t.Fatal(err)
		}
		p := &utility.Profile{Name: "p", Func: f, Reserved: r.Float64() * 1.2, Discount: 1}
		var buf bytes.Buffer
		err = genius.WriteWebProfile(&buf, p)
		if _, hi := utility.Bounds(f); p.Reserved > hi+1e-12 {
			if !errors.Is(err, genius.ErrUnsupported) {
				t.Fatalf("trial %d: reserved %v above best %v: error = %v, want ErrUnsupported", trial, p.Reserved, hi, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		q, err := genius.ReadWebProfile(&buf, s)
		if err != nil {
			t.Fatal(err)
		}
		checkReservation(t, p, q.Reserved)
	}
}
