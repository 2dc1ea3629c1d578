// Command synthetic writes a seeded random bilateral linear additive domain
// in GENIUS layout, for benchmarks of spaces too big to enumerate:
//
//	go run ./examples/synthetic -issues 12 -values 10 -out examples/synthetic/12x10
//	go run ./examples/synthetic -issues 12 -values 10 -opposed -out examples/synthetic/12x10-opposed
//
// The same flags and seed always write the same files.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/backchannel/backchannel/genius"
	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

func main() {
	issues := flag.Int("issues", 12, "number of issues")
	values := flag.Int("values", 10, "values per issue")
	seed := flag.Uint64("seed", 1, "random seed")
	opposed := flag.Bool("opposed", false, "make the second party's evaluations nearly the reverse of the first's, which gives a long frontier")
	out := flag.String("out", "", "output `folder` (required)")
	flag.Parse()
	if *out == "" || *issues < 1 || *values < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := write(*out, *issues, *values, *seed, *opposed); err != nil {
		log.Fatal(err)
	}
}

func write(dir string, issues, values int, seed uint64, opposed bool) error {
	r := rand.New(rand.NewPCG(seed, uint64(issues*1000+values)))
	var iss []outcome.Issue
	for i := range issues {
		names := make([]string, values)
		for v := range names {
			names[v] = fmt.Sprintf("v%d", v+1)
		}
		iss = append(iss, outcome.NewDiscrete(fmt.Sprintf("issue%d", i+1), names...))
	}
	space, err := outcome.NewSpace(fmt.Sprintf("synthetic-%dx%d", issues, values), iss...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := create(filepath.Join(dir, "domain.xml"), func(f *os.File) error { return genius.WriteDomain(f, space) }); err != nil {
		return err
	}
	var first [][]float64
	for k, party := range []string{"party1", "party2"} {
		weights := make([]float64, issues)
		evals := make([]utility.Evaluator, issues)
		sum := 0.0
		for i := range weights {
			weights[i] = r.Float64()
			sum += weights[i]
			e := make([]float64, values)
			for v := range e {
				e[v] = float64(1 + r.IntN(100))
				if opposed && k == 1 {
					e[v] = max(1, 101-first[i][v]+float64(r.IntN(11)-5))
				}
			}
			if k == 0 {
				first = append(first, e)
			}
			evals[i] = utility.Discrete{Evals: e}
		}
		for i := range weights {
			weights[i] /= sum
		}
		f, err := utility.NewLinearAdditive(space, weights, evals)
		if err != nil {
			return err
		}
		p := &utility.Profile{Name: party, Func: f, Discount: 1}
		if err := create(filepath.Join(dir, party+".xml"), func(f *os.File) error { return genius.WriteProfile(f, p) }); err != nil {
			return err
		}
	}
	return nil
}

func create(name string, write func(*os.File) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
