package agent

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

const domains = "../examples/domains"

var scenarios sync.Map // domain name → *genius.Scenario

// load returns a domain's scenario, loaded once per test binary so that
// IndexOf sees the same functions across tests.
func load(tb testing.TB, name string) *genius.Scenario {
	tb.Helper()
	if sc, ok := scenarios.Load(name); ok {
		return sc.(*genius.Scenario)
	}
	sc, err := genius.LoadDir(filepath.Join(domains, name))
	if err != nil {
		tb.Fatalf("LoadDir(%s): %v", name, err)
	}
	v, _ := scenarios.LoadOrStore(name, sc)
	return v.(*genius.Scenario)
}

// enumerable lists the domains small enough to check by brute force.
var enumerable = []string{
	"Laptop", "FlightBookingA", "ItexvsCypress", "EnglandZimbabwe", "Grocery",
	"Amsterdam", "Camera", "Lunch", "SmartPhone", "Car", "Wholesaler",
	"SupermarketA", "Travel", "KillerRobot", "Energy", "ParsCat",
}

// brute holds every outcome of a space with its utility, in index order,
// and the utilities sorted.
type brute struct {
	outcomes []outcome.Outcome
	utils    []float64
	sorted   []float64
}

func bruteForce(f utility.Func) *brute {
	b := &brute{}
	for o := range f.Space().All() {
		b.outcomes = append(b.outcomes, o.Clone())
		b.utils = append(b.utils, f.Utility(o))
	}
	b.sorted = slices.Clone(b.utils)
	slices.Sort(b.sorted)
	return b
}

// above returns the smallest utility at least x, and false if none.
func (b *brute) above(x float64) (float64, bool) {
	i, _ := slices.BinarySearch(b.sorted, x)
	if i == len(b.sorted) {
		return 0, false
	}
	return b.sorted[i], true
}

// first returns the index of the first outcome with utility u.
func (b *brute) first(u float64) int {
	return slices.Index(b.utils, u)
}

// queries returns utilities to ask about: every 97th distinct utility,
// the values just around them, and points outside the range.
func (b *brute) queries() []float64 {
	lo, hi := b.sorted[0], b.sorted[len(b.sorted)-1]
	qs := []float64{lo - 1, lo, hi, hi + 1e-9, hi + 1, (lo + hi) / 2}
	step := max(1, len(b.sorted)/211)
	for i := 0; i < len(b.sorted); i += step {
		u := b.sorted[i]
		qs = append(qs, u, u-1e-12, u+1e-12)
	}
	return qs
}
