package agent

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/backchannel/backchannel/outcome"
	"github.com/backchannel/backchannel/utility"
)

// Frequency is a frequency-based model of an opponent's preferences, the
// model of HardHeaded, ANAC 2011's winner (van Krimpen, Looije and
// Hajizadeh, 2013), which Baarslag et al. ("Predicting the performance of
// opponent models in automated negotiation", 2013) found among the most
// accurate. It estimates a linear additive utility function from the
// offers an opponent makes:
//
//   - Issue weights start equal. When an offer keeps an issue's value from
//     the opponent's previous offer, that issue gains 0.2/k weight (k
//     issues), on the grounds that an opponent concedes on the issues it
//     cares less about; the weights are then renormalised to sum to 1.
//   - Each value's evaluation starts at 1 and gains 1 each time an offer
//     contains it; an issue contributes its weight times the value's
//     evaluation divided by the issue's largest evaluation.
//
// Frequency is a utility.Func over the opponent's space. Update and
// Utility allocate nothing. It is not safe for concurrent use.
type Frequency struct {
	space   *outcome.Space
	weights []float64
	evals   [][]float64
	top     []float64 // the largest evaluation of each issue
	last    outcome.Outcome
	offers  int
}

var _ utility.Func = (*Frequency)(nil)

// The learning rates of HardHeaded.
const (
	weightGain = 0.2
	valueGain  = 1.0
)

// NewFrequency returns an untrained model over sp: equal weights and equal
// evaluations.
func NewFrequency(sp *outcome.Space) *Frequency {
	k := len(sp.Issues)
	m := &Frequency{
		space:   sp,
		weights: make([]float64, k),
		evals:   make([][]float64, k),
		top:     make([]float64, k),
		last:    make(outcome.Outcome, k),
	}
	for i, is := range sp.Issues {
		m.weights[i] = 1 / float64(k)
		m.evals[i] = make([]float64, is.Len())
		for v := range m.evals[i] {
			m.evals[i][v] = 1
		}
		m.top[i] = 1
	}
	return m
}

// Space implements utility.Func.
func (m *Frequency) Space() *outcome.Space { return m.space }

// Offers returns the number of offers the model has learnt from.
func (m *Frequency) Offers() int { return m.offers }

// Weights returns the estimated issue weights. The caller must not modify
// the result.
func (m *Frequency) Weights() []float64 { return m.weights }

// Update learns from an offer the opponent made; o must be an outcome of
// the model's space.
func (m *Frequency) Update(o outcome.Outcome) {
	if m.offers > 0 {
		gain := weightGain / float64(len(m.weights))
		sum := 0.0
		for i, v := range o {
			if v == m.last[i] {
				m.weights[i] += gain
			}
			sum += m.weights[i]
		}
		for i := range m.weights {
			m.weights[i] /= sum
		}
	}
	for i, v := range o {
		m.evals[i][v] += valueGain
		m.top[i] = math.Max(m.top[i], m.evals[i][v])
	}
	copy(m.last, o)
	m.offers++
}

// Utility implements utility.Func: the estimated utility of o, in [0, 1].
func (m *Frequency) Utility(o outcome.Outcome) float64 {
	u := 0.0
	for i, v := range o {
		u += m.weights[i] * m.evals[i][v] / m.top[i]
	}
	return u
}

// Accuracy measures how close an estimate is to the true utility function,
// with the measures NegoLog reports for opponent models (Doğru et al.,
// IJCAI 2024), over every outcome of spaces of at most AccuracySample
// outcomes and over AccuracySample outcomes drawn uniformly with a fixed
// seed otherwise.
type Accuracy struct {
	Outcomes int // outcomes compared
	// RMSE is the root mean square difference of the estimated and true
	// utilities, each first rescaled to [0, 1] by its minimum and maximum
	// over the outcomes compared: 0 is perfect.
	RMSE float64
	// Spearman is Spearman's ρ: Pearson's correlation of the ranks, ties
	// getting their mean rank. 1 means the same order.
	Spearman float64
	// Kendall is Kendall's τ-b, which corrects for ties. 1 means the same
	// order.
	Kendall float64
}

// AccuracySample is the largest number of outcomes Accuracy compares.
// Kendall's τ costs O(n²) in it.
const AccuracySample = 4000

// Accuracy compares the model with truth, the opponent's real utility
// function, which must be over the same space. A correlation is 0 when
// either side gives every outcome the same utility, as an untrained model
// does.
func (m *Frequency) Accuracy(truth utility.Func) (Accuracy, error) {
	return accuracy(m, truth)
}

func accuracy(est, truth utility.Func) (Accuracy, error) {
	sp := est.Space()
	if len(truth.Space().Issues) != len(sp.Issues) {
		return Accuracy{}, fmt.Errorf("%w: the true function has %d issues, the model %d", ErrInvalid, len(truth.Space().Issues), len(sp.Issues))
	}
	for i, is := range sp.Issues {
		if truth.Space().Issues[i].Len() != is.Len() {
			return Accuracy{}, fmt.Errorf("%w: issue %q has %d values in the true function, %d in the model", ErrInvalid, is.Name, truth.Space().Issues[i].Len(), is.Len())
		}
	}
	var x, y []float64
	n, ok := sp.Size()
	if ok && n <= AccuracySample {
		for o := range sp.All() {
			x, y = append(x, est.Utility(o)), append(y, truth.Utility(o))
		}
	} else {
		r := rand.New(rand.NewPCG(1, 2))
		o := make(outcome.Outcome, len(sp.Issues))
		for range AccuracySample {
			for i, is := range sp.Issues {
				o[i] = r.IntN(is.Len())
			}
			x, y = append(x, est.Utility(o)), append(y, truth.Utility(o))
		}
	}
	return Accuracy{
		Outcomes: len(x),
		RMSE:     rmse(rescale(x), rescale(y)),
		Spearman: pearson(ranks(x), ranks(y)),
		Kendall:  kendall(x, y),
	}, nil
}

func rescale(x []float64) []float64 {
	lo, hi := slices.Min(x), slices.Max(x)
	r := make([]float64, len(x))
	for i, v := range x {
		if hi > lo {
			r[i] = (v - lo) / (hi - lo)
		}
	}
	return r
}

func rmse(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		d := x[i] - y[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(x)))
}

// ranks returns the 1-based ranks of x, ties getting their mean rank.
func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j+1) / 2 // the mean of ranks i+1..j
		for k := i; k < j; k++ {
			r[idx[k]] = mean
		}
		i = j
	}
	return r
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// kendall returns Kendall's τ-b = (C − D) / √((n0 − n1)(n0 − n2)), counting
// pairs directly.
func kendall(x, y []float64) float64 {
	var conc, disc, tx, ty, n0 float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			n0++
			a, b := cmp.Compare(x[i], x[j]), cmp.Compare(y[i], y[j])
			switch {
			case a == 0 && b == 0:
				tx++
				ty++
			case a == 0:
				tx++
			case b == 0:
				ty++
			case a == b:
				conc++
			default:
				disc++
			}
		}
	}
	d := math.Sqrt((n0 - tx) * (n0 - ty))
	if d == 0 {
		return 0
	}
	return (conc - disc) / d
}
