// Package agent holds automated negotiators for package mechanism and the
// pieces they are built from: an index of outcomes sorted by utility and a
// frequency-based opponent model.
//
// Every negotiator implements mechanism.Negotiator:
//
//   - TimeBased concedes on a clock, target(t) = rv + (max − rv)·(1 − t^(1/e)):
//     Boulware (e = 0.2), Linear (e = 1) and Conceder (e = 2).
//   - Hardliner offers its best outcome and accepts nothing less.
//   - Random offers random outcomes it can live with.
//   - TitForTat mirrors the opponent's concessions, as measured in its own
//     utility.
//   - MiCRO concedes one outcome for each new offer it receives (de Jonge,
//     IJCAI 2022).
//   - ModelBased concedes like TimeBased and, among the outcomes near its
//     target, offers the one its Frequency model of the opponent likes best.
//
// New makes a negotiator by name, for command lines and tournaments.
//
// Negotiators find "the outcome at or just above utility x" with an Index
// built once per utility function (and shared through IndexOf), never by
// scanning the outcome space, and they allocate nothing per turn in steady
// state: they return outcomes decoded once and kept. The index sorts
// spaces of up to MaxSorted outcomes whole, larger spaces of the
// hyper-rectangle functions of ANAC 2014 by classes of values that no
// rectangle tells apart, and larger additive spaces by meet-in-the-middle.
//
// Utilities are undiscounted throughout: a negotiator plans with its
// profile's utility function and reserved value as written, and leaves
// discounting to the mechanism's scoring.
package agent
