// Package genius reads and writes negotiation domains and profiles in the
// two formats of the GENIUS family: the XML of GENIUS, in which the ANAC
// competition domains were published, and the JSON of its successor
// GeniusWeb.
//
// # GENIUS XML
//
// A domain is a <negotiation_template> whose <utility_space> holds one
// <objective> with an <issue> per issue. A discrete issue lists its values
// as <item value=".."/>; an integer issue has lowerbound and upperbound
// attributes; a real issue has its bounds in a <range> child (or as
// attributes). Nested objectives are not supported.
//
// A profile is a <utility_space> that repeats the issues with their
// evaluations, gives one <weight index=".." value=".."/> per issue (before
// or after the issues; index is the index attribute), and may give
// a <reservation value=".."/> and a <discount_factor value=".."/>. The
// issues are matched to the domain's by name, and must fit it exactly: an
// unknown issue or value, a missing evaluation or weight, a negative weight
// or evaluation, or a bound that differs is an error, never a guess.
//
// The utility of an outcome follows GENIUS:
//
//   - A discrete issue contributes weight · evaluation / the largest
//     evaluation of that issue (utility.Discrete).
//   - An integer issue's <evaluator slope=".." offset=".."/> contributes
//     weight · clamp(offset + slope·(x − lowerbound), 0, 1) (utility.Linear).
//     GENIUS has no other integer form.
//   - A real issue's <evaluator ftype=".." parameter0=".." .../> is linear
//     (clamp(parameter0 + parameter1·x, 0, 1), in x itself, not x − lower
//     bound), constant (parameter0), or triangular (parameter0 = low,
//     parameter1 = high, parameter2 = top, parameter3 = utility at the top
//     for "triangular_variable_top"; utility.Triangular). GENIUS enumerates
//     real issues on a grid of 21 points; ReadDomain cuts them into
//     RealSteps steps (the same 21 points, both bounds included) unless the
//     issue has a step attribute, which WriteDomain writes and GENIUS
//     ignores.
//   - A missing reservation is 0. A missing discount factor, or one that is
//     0 or at least 1, means no discounting (Discount 1).
//
// ANAC 2014 profiles (<utility_space type="nonlinear">) hold hyper-rectangles
// instead: <utility maxutility="M"><ufun aggregation="sum"> with
// <hyperRectangle utility="u"><INCLUDES index="i" min="a" max="b"/>, where i
// is an issue's index attribute and a..b are values of that integer issue.
// An outcome earns the utility of every rectangle that contains it, and the
// sum is divided by M (utility.HyperRectangle). EXCLUDES bounds, other
// aggregations, nested or weighted ufuns are refused with ErrUnsupported.
// GENIUS also caps these utilities at 1; this package does not, which makes
// no difference when M is the true maximum, as in the ANAC 2014 files.
//
// # GeniusWeb JSON
//
// A domain is {"name": .., "issuesValues": {issue: {"values": [..]} or
// {"range": {"low", "high", "step"}}}}. A range of integers with step 1
// becomes an integer issue, any other range a real issue on its own grid.
// A profile is {"LinearAdditiveUtilitySpace": {"name", "domain",
// "issueWeights", "issueUtilities", "reservationBid"}}. Discrete utilities
// ("discreteutils") are used as they are, without GENIUS's division by the
// largest (utility.Scores); number utilities ("numberutils") interpolate
// linearly between (lowValue, lowUtility) and (highValue, highUtility) and
// are 0 outside (utility.Ramp). GeniusWeb has no reserved value, only a
// reservation bid, whose utility becomes Reserved, and no discount.
//
// # Writing
//
// Writers produce files their readers read back to the same utility on
// every outcome, the same reserved value and the same discount (GENIUS) or
// the closest GeniusWeb can say (see WriteWebProfile). When a function has
// no form in the target format, such as a non-linear evaluation of an
// integer issue, or hyper-rectangles in GeniusWeb, the writer returns
// ErrUnsupported instead of an approximation.
//
// # Scenarios
//
// LoadDir reads a scenario folder and tells domain from profiles by their
// content, not their names (Car's adg.xml is the domain, adg_deal.xml a
// profile). A folder may also hold a frontier computed by GENIUS, such as
// ANAC 2014's pareto.xml, one "u1, u2" line per point, which becomes
// Scenario.Reference.
//
// # Differences from NegMAS
//
// NegMAS reads the same XML without dividing discrete evaluations by the
// largest one, so its utilities differ from GENIUS's (and these) whenever
// an issue's best value does not evaluate to 1, as in Laptop, whose
// evaluations run up to 30. This package follows GENIUS, the program the
// files were written for; the reference values in examples/domains use the
// GENIUS rules too.
//
// # Errors
//
// Readers return a *ParseError that gives the line where it is known and
// wraps a sentinel of this package (ErrFormat, ErrInvalid, ErrMismatch,
// ErrUnsupported, ErrTooLarge) or of the outcome and utility packages
// (outcome.ErrUnknownValue, ...). LoadDir and LoadFiles add the file name:
//
//	genius: Laptop/laptop_buyer_utility.xml:12: profile does not match domain: outcome: issue "Laptop" has no value "Lenovo"
//
// Readers cope with what real files contain: stray blanks around names,
// blank lines before the root element, a byte order mark, undeclared Latin-1
// text, unknown attributes and elements (Car's similarity functions). They
// never panic, and refuse issues of more than MaxValues values.
package genius
