package analysis

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/utility"
)

const domains = "../examples/domains"

// load returns the functions and reserved values of the first parties of
// a domain folder, in file-name order; parties ≤ 0 means all of them.
func load(tb testing.TB, name string, parties int) ([]utility.Func, []float64) {
	tb.Helper()
	sc, err := genius.LoadDir(filepath.Join(domains, name))
	if err != nil {
		tb.Fatalf("LoadDir(%s): %v", name, err)
	}
	profiles := sc.Profiles
	if parties > 0 {
		profiles = profiles[:parties]
	}
	var funcs []utility.Func
	var reserved []float64
	for _, p := range profiles {
		funcs = append(funcs, p.Func)
		reserved = append(reserved, p.Reserved)
	}
	return funcs, reserved
}

// TestReferenceValues checks the values that examples/domains/README.md
// lists, computed there with NegMAS and an independent brute force.
func TestReferenceValues(t *testing.T) {
	tests := []struct {
		domain                  string
		frontier                int
		nash, ks, egal, welfare []float64
	}{
		{"Laptop", 4, []float64{1.0001, 0.8151}, []float64{0.8740, 0.8740}, []float64{0.8740, 0.8740}, []float64{1.0001, 0.8151}},
		{"FlightBookingA", 4, []float64{0.7375, 0.9000}, []float64{0.7375, 0.9000}, []float64{0.7375, 0.9000}, []float64{0.7375, 0.9000}},
		{"ItexvsCypress", 18, []float64{0.6705, 0.7215}, []float64{0.6705, 0.7215}, []float64{0.6705, 0.7215}, []float64{0.6705, 0.7215}},
		{"EnglandZimbabwe", 25, []float64{0.9109, 0.7332}, []float64{0.8223, 0.7866}, []float64{0.8223, 0.7866}, []float64{0.9109, 0.7332}},
		{"Grocery", 7, []float64{0.8400, 0.8950}, []float64{0.8400, 0.8950}, []float64{0.8400, 0.8950}, []float64{0.8400, 0.8950}},
		{"Lunch", 0, nil, nil, nil, nil},
	}
	round := func(p *Point) []float64 {
		if p == nil {
			return nil
		}
		r := make([]float64, len(p.Utilities))
		for i, u := range p.Utilities {
			r[i] = math.Round(u*1e4) / 1e4
		}
		return r
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			funcs, reserved := load(t, tt.domain, 2)
			res, err := Analyze(context.Background(), funcs, reserved, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Frontier) != tt.frontier {
				t.Errorf("len(Frontier(%s)) = %d, want %d", tt.domain, len(res.Frontier), tt.frontier)
			}
			if res.ZOPA != (tt.frontier > 0) {
				t.Errorf("ZOPA(%s) = %v, want %v", tt.domain, res.ZOPA, tt.frontier > 0)
			}
			for _, c := range []struct {
				name string
				got  *Point
				want []float64
			}{
				{"Nash", res.Nash, tt.nash},
				{"KalaiSmorodinsky", res.KalaiSmorodinsky, tt.ks},
				{"Egalitarian", res.Egalitarian, tt.egal},
				{"MaxWelfare", res.MaxWelfare, tt.welfare},
			} {
				if got := round(c.got); !slices.Equal(got, c.want) {
					t.Errorf("%s(%s) = %v, want %v", c.name, tt.domain, got, c.want)
				}
			}
		})
	}
}

// opaque hides that a function is additive, to force enumeration.
type opaque struct{ utility.Func }

// sweep is an independent two-party frontier: every outcome, sorted by
// the first utility, swept for the second.
func sweep(funcs []utility.Func, reserved []float64) [][]float64 {
	var pts [][]float64
	scale := 0.0
	for o := range funcs[0].Space().All() {
		u := []float64{funcs[0].Utility(o), funcs[1].Utility(o)}
		scale = math.Max(scale, math.Max(math.Abs(u[0]), math.Abs(u[1])))
		pts = append(pts, u)
	}
	tol := 1e-9 * scale
	slices.SortFunc(pts, func(a, b []float64) int {
		if c := cmpDesc(a[0], b[0]); c != 0 {
			return c
		}
		return cmpDesc(a[1], b[1])
	})
	var front [][]float64
	for _, p := range pts {
		if p[0] < reserved[0]-tol || p[1] < reserved[1]-tol {
			continue
		}
		if len(front) > 0 && front[len(front)-1][1] >= p[1]-tol {
			continue
		}
		// p is higher by more than tol than every step kept: it dominates
		// those whose first utility is within tol of its own.
		for len(front) > 0 && front[len(front)-1][0] <= p[0]+tol {
			front = front[:len(front)-1]
		}
		front = append(front, p)
	}
	return front
}

// TestDomainsAgainstEnumeration checks the additive frontier of every
// real domain of at most 400,000 outcomes against enumeration, and for two
// parties against an independent sweep.
func TestDomainsAgainstEnumeration(t *testing.T) {
	entries, err := os.ReadDir(domains)
	if err != nil {
		t.Skip(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			sc, err := genius.LoadDir(filepath.Join(domains, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if size, ok := sc.Space.Size(); !ok || size > 400_000 {
				t.Skipf("%s outcomes", sc.Space.Cardinality())
			}
			if testing.Short() && len(sc.Profiles) > 2 {
				t.Skip("many parties")
			}
			for _, parties := range []int{2, len(sc.Profiles)} {
				if parties == 2 && len(sc.Profiles) > 2 {
					continue // the first two: checked below as a prefix
				}
				funcs, reserved := load(t, e.Name(), parties)
				compareEnumeration(t, funcs, reserved)
				if parties == 2 {
					got, err := Frontier(context.Background(), funcs, reserved, Options{})
					if err != nil {
						t.Fatal(err)
					}
					want := sweep(funcs, reserved)
					if !slices.EqualFunc(utilsOf(got), want, near) {
						t.Errorf("Frontier(%s) = %v,\nsweep gives %v", e.Name(), utilsOf(got), want)
					}
				}
			}
			if len(sc.Profiles) > 2 {
				funcs, reserved := load(t, e.Name(), 2)
				compareEnumeration(t, funcs, reserved)
			}
		})
	}
}

func compareEnumeration(t *testing.T, funcs []utility.Func, reserved []float64) {
	t.Helper()
	ctx := context.Background()
	fast, err := Analyze(ctx, funcs, reserved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hidden := make([]utility.Func, len(funcs))
	for i, f := range funcs {
		hidden[i] = opaque{f}
	}
	slow, err := Analyze(ctx, hidden, reserved, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(utilsOf(fast.Frontier), utilsOf(slow.Frontier), near) {
		t.Fatalf("%d parties: additive frontier has %d points, enumeration %d", len(funcs), len(fast.Frontier), len(slow.Frontier))
	}
	for _, c := range []struct {
		name       string
		fast, slow *Point
	}{
		{"Nash", fast.Nash, slow.Nash},
		{"KalaiSmorodinsky", fast.KalaiSmorodinsky, slow.KalaiSmorodinsky},
		{"Egalitarian", fast.Egalitarian, slow.Egalitarian},
		{"MaxWelfare", fast.MaxWelfare, slow.MaxWelfare},
	} {
		if !near(utils(c.fast), utils(c.slow)) {
			t.Errorf("%s = %v, enumeration gives %v", c.name, utils(c.fast), utils(c.slow))
		}
	}
	t.Logf("%d parties, %s outcomes: %d frontier points, Nash %v", len(funcs), fast.Outcomes, len(fast.Frontier), utils(fast.Nash))
}

// TestDominatingDomain checks Dominating on a real domain against
// enumeration.
func TestDominatingDomain(t *testing.T) {
	funcs, _ := load(t, "Travel", 2)
	hidden := []utility.Func{opaque{funcs[0]}, opaque{funcs[1]}}
	sp := funcs[0].Space()
	for _, idx := range []uint64{0, 12345, 100000, 188159} {
		o, _ := sp.At(idx)
		fast, err := Dominating(context.Background(), funcs, o, 20)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := Dominating(context.Background(), hidden, o, 20)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(utilsOf(fast), utilsOf(slow), near) {
			t.Errorf("Dominating(%s) = %v, enumeration gives %v", sp.Format(o), utilsOf(fast), utilsOf(slow))
		}
	}
}

// TestANAC2014 enumerates the 10^10 outcomes of ANAC 2014's non-linear
// domain as 2.5·10^7 classes and checks the frontier GENIUS shipped.
func TestANAC2014(t *testing.T) {
	if testing.Short() {
		t.Skip("enumerates 2.5e7 classes")
	}
	sc, err := genius.LoadDir(filepath.Join(domains, "ANAC2014_10issues"))
	if err != nil {
		t.Fatal(err)
	}
	funcs := []utility.Func{sc.Profiles[0].Func, sc.Profiles[1].Func}
	front, err := Frontier(context.Background(), funcs, []float64{0, 0}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(sc.Reference)
	slices.SortFunc(want, func(a, b []float64) int { return cmpDesc(a[0], b[0]) })
	nearRef := func(a, b []float64) bool { // pareto.xml has 8 digits
		return math.Abs(a[0]-b[0]) < 1e-6 && math.Abs(a[1]-b[1]) < 1e-6
	}
	if got := utilsOf(front); !slices.EqualFunc(got, want, nearRef) {
		t.Errorf("Frontier(ANAC2014_10issues) = %v,\npareto.xml has %v", got, want)
	}
	for _, p := range front {
		for i, f := range funcs {
			if u := f.Utility(p.Outcome); u != p.Utilities[i] {
				t.Errorf("outcome %v has utility %v for party %d, point says %v", p.Outcome, u, i+1, p.Utilities[i])
			}
		}
	}
}
