package utility

import (
	"fmt"

	"github.com/backchannel/backchannel/outcome"
)

// Scores evaluates any issue by table, value by value, and uses the table as
// it is: value i evaluates to Utilities[i], with no normalisation. It is the
// GeniusWeb DiscreteValueSetUtilities, whose utilities lie in [0, 1] and need
// not reach 1. Compare Discrete, which divides by the largest entry as GENIUS
// does.
type Scores struct {
	Utilities []float64
}

// Evaluate implements Evaluator. Every utility must lie in [0, 1].
func (s Scores) Evaluate(is outcome.Issue) ([]float64, error) {
	if len(s.Utilities) != is.Len() {
		return nil, fmt.Errorf("%w: issue %q has %d values, evaluator has %d", ErrMismatch, is.Name, is.Len(), len(s.Utilities))
	}
	for i, u := range s.Utilities {
		if !(u >= 0 && u <= 1) {
			return nil, fmt.Errorf("%w: issue %q value %q has utility %g outside [0, 1]", ErrInvalid, is.Name, is.Value(i), u)
		}
	}
	return append([]float64(nil), s.Utilities...), nil
}

// Triangular evaluates an integer or real issue with the GENIUS triangular
// function: 0 below Low, rising linearly to TopUtility at Top, falling
// linearly back to 0 at High, and 0 from High on. GENIUS's "triangular"
// evaluator has TopUtility 1; "triangular_variable_top" sets it.
type Triangular struct {
	Low, Top, High float64
	TopUtility     float64
}

// Evaluate implements Evaluator.
func (t Triangular) Evaluate(is outcome.Issue) ([]float64, error) {
	if is.Kind == outcome.Discrete {
		return nil, fmt.Errorf("%w: triangular evaluator on discrete issue %q", ErrMismatch, is.Name)
	}
	if !finite(t.Low) || !finite(t.Top) || !finite(t.High) || !finite(t.TopUtility) || t.Top < t.Low || t.High < t.Top {
		return nil, fmt.Errorf("%w: issue %q has triangle %g, %g, %g", ErrInvalid, is.Name, t.Low, t.Top, t.High)
	}
	out := make([]float64, is.Len())
	for i := range out {
		x := is.Float(i)
		switch {
		case x < t.Low || x >= t.High:
			out[i] = 0
		case x < t.Top:
			out[i] = t.TopUtility * (x - t.Low) / (t.Top - t.Low)
		default:
			out[i] = t.TopUtility * (1 - (x-t.Top)/(t.High-t.Top))
		}
	}
	return out, nil
}
