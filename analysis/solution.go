package analysis

import "math"

// Nash returns the point of frontier that maximises the Nash product
// Π(u_i − reserved_i), or nil if no point of frontier is rational.
//
// Frontier points that are not rational for reserved, or that have the
// wrong number of utilities, are skipped. Objective values within a
// relative 1e-12 of each other are ties. A tie goes to the point with the
// larger Nash product, then the larger welfare Σ u_i, then to the point
// that comes first in frontier: for a frontier from Frontier, the one that
// is best for the first party, then the second, and so on. The same holds
// for KalaiSmorodinsky, Egalitarian and MaxWelfare; so a tie in welfare,
// for one, goes to the fairer point.
func Nash(frontier []Point, reserved []float64) *Point {
	return nash(frontier, reserved, frontierTolerance(frontier))
}

func nash(frontier []Point, reserved []float64, tol float64) *Point {
	return best(frontier, reserved, tol, func(u []float64) float64 {
		prod := 1.0
		for i, r := range reserved {
			prod *= math.Max(0, u[i]-r)
		}
		return prod
	})
}

// KalaiSmorodinsky returns the point of frontier that maximises
// min_i (u_i − reserved_i)/(ideal_i − reserved_i), where ideal_i is the
// best utility of party i on the rational points of frontier, or nil if
// no point of frontier is rational. A party whose ideal is its reserved
// value (within the tolerance) gets it everywhere and is left out of the
// minimum; if every party is, all points tie.
func KalaiSmorodinsky(frontier []Point, reserved []float64) *Point {
	return kalaiSmorodinsky(frontier, reserved, frontierTolerance(frontier))
}

func kalaiSmorodinsky(frontier []Point, reserved []float64, tol float64) *Point {
	ideal := make([]float64, len(reserved))
	for i := range ideal {
		ideal[i] = math.Inf(-1)
	}
	for _, p := range frontier {
		if len(p.Utilities) == len(reserved) && rational(p.Utilities, reserved, tol) {
			for i := range ideal {
				ideal[i] = math.Max(ideal[i], p.Utilities[i])
			}
		}
	}
	return best(frontier, reserved, tol, func(u []float64) float64 {
		ratio := math.Inf(1)
		for i, r := range reserved {
			if d := ideal[i] - r; d > tol {
				ratio = math.Min(ratio, (u[i]-r)/d)
			}
		}
		if math.IsInf(ratio, 1) {
			return 0
		}
		return ratio
	})
}

// Egalitarian returns the point of frontier that maximises the smallest
// gain min_i (u_i − reserved_i), or nil if no point of frontier is rational.
func Egalitarian(frontier []Point, reserved []float64) *Point {
	return egalitarian(frontier, reserved, frontierTolerance(frontier))
}

func egalitarian(frontier []Point, reserved []float64, tol float64) *Point {
	return best(frontier, reserved, tol, func(u []float64) float64 {
		gain := math.Inf(1)
		for i, r := range reserved {
			gain = math.Min(gain, u[i]-r)
		}
		return gain
	})
}

// MaxWelfare returns the point of frontier that maximises the sum of the
// utilities, or nil if no point of frontier is rational.
func MaxWelfare(frontier []Point, reserved []float64) *Point {
	return maxWelfare(frontier, reserved, frontierTolerance(frontier))
}

func maxWelfare(frontier []Point, reserved []float64, tol float64) *Point {
	return best(frontier, reserved, tol, func(u []float64) float64 {
		sum := 0.0
		for _, x := range u {
			sum += x
		}
		return sum
	})
}

// best returns a copy of the rational point of frontier with the largest
// objective. Ties, within a relative 1e-12, go to the larger Nash product,
// then to the larger welfare, then to the point that comes first.
func best(frontier []Point, reserved []float64, tol float64, objective func(u []float64) float64) *Point {
	if len(reserved) == 0 {
		return nil
	}
	var (
		top    *Point
		topKey [3]float64
	)
	for k := range frontier {
		u := frontier[k].Utilities
		if len(u) != len(reserved) || !rational(u, reserved, tol) {
			continue
		}
		key := [3]float64{objective(u), 1, 0}
		for i, r := range reserved {
			key[1] *= math.Max(0, u[i]-r)
			key[2] += u[i]
		}
		if math.IsNaN(key[0]) {
			continue
		}
		if top == nil || greater(key, topKey) {
			top, topKey = &frontier[k], key
		}
	}
	if top == nil {
		return nil
	}
	p := *top
	return &p
}

// greater compares keys lexicographically, with values within a relative
// 1e-12 of each other equal.
func greater(a, b [3]float64) bool {
	for i := range a {
		eps := 1e-12 * math.Max(math.Abs(a[i]), math.Abs(b[i]))
		if a[i] > b[i]+eps {
			return true
		}
		if a[i] < b[i]-eps {
			return false
		}
	}
	return false
}

// frontierTolerance returns the tolerance for the largest |utility| of
// frontier. Analyze uses the tolerance of the whole space instead.
func frontierTolerance(frontier []Point) float64 {
	scale := 0.0
	for _, p := range frontier {
		for _, u := range p.Utilities {
			scale = math.Max(scale, math.Abs(u))
		}
	}
	return tolerance(scale)
}

// Distance returns the Euclidean distance in utility space from the
// utility vector u to the nearest point of frontier. It measures how far
// an agreement is from being efficient: 0 for a point on the frontier. The
// frontier is the set of its points, not the segments between them, which
// need not be achievable. Distance returns +Inf for an empty frontier and
// ignores points with a different number of utilities than u.
func Distance(frontier []Point, u []float64) float64 {
	d := math.Inf(1)
	for _, p := range frontier {
		if len(p.Utilities) != len(u) {
			continue
		}
		sum := 0.0
		for i, x := range u {
			sum += (p.Utilities[i] - x) * (p.Utilities[i] - x)
		}
		d = math.Min(d, sum)
	}
	return math.Sqrt(d)
}
