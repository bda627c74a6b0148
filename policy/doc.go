// Package policy is the policy model and a pure evaluator for cas: access
// policies decide a login, session policies decide an activity (view,
// download, upload, export, send) inside a monitored session.
//
// The package does no I/O of its own (content scanning reads only from an
// io.Reader it is handed), keeps no clock and no global mutable state, and
// imports nothing else of the project.
//
// The life of a policy:
//
//   - Policy is the stored model. Its JSON and YAML encodings use the same
//     snake_case names; the daemon stores the JSON, the CLI reads and writes
//     YAML documents (ParseDocument, MarshalDocument) and JSON.
//   - Policy.Validate checks one policy against an Env (known IP tags, apps,
//     whether a GeoIP database is configured); Policy.Warnings lists
//     non-fatal problems.
//   - Compile turns a list of policies into an immutable Set, safe for
//     concurrent use; the daemon swaps sets with an atomic.Pointer.
//   - Set.Decide evaluates a Context and returns a Decision; Set.Explain
//     says, per policy, whether it matched or which filter excluded it.
//
// # Filters
//
// All filters are optional. Different filters AND together; the values of
// one filter OR together. Each filter has an include list (when non-empty,
// one value must match) and an exclude list (no value may match); both may
// be given. In YAML a bare list is shorthand for include:
//
//	users: {exclude: ["bob@example.com"]}
//	apps: [salesforce]          # same as apps: {include: [salesforce]}
//
// Filters are evaluated in a fixed order, cheapest first (the field
// constants in match.go); Explain reports the first one that excluded a
// policy. Matching is case-insensitive for everything but app and IP tag
// names. Values a context lacks (no email domain, no certificate, no file)
// never match an include list and never match an exclude list.
//
// # Decisions
//
// Among the matching, enabled, enforcing (not log_only) policies of the
// context's kind, the most restrictive action wins: block > protect >
// monitor > allow. Ties are broken by priority, where a LOWER number means a
// HIGHER priority (priority 1 beats priority 10), then by name (byte order).
// Log-only policies appear in Decision.Matches with WouldAction set
// ("would_block", …) and never change the outcome. With no enforcing match
// the configured default for the kind applies (allow unless set otherwise).
// The result does not depend on the order policies are given in.
package policy
