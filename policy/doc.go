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
//
// # Using a Set
//
// Per login the daemon builds a Context (user, groups, IP, country, the
// user agent parsed once with Set.ParseUA) and asks Set.NeedsDevice(app)
// whether to run the client-certificate check first. Per activity in a
// monitored session it asks Set.NeedsContent(ctx); if so it spools the file
// (up to its own limit), scans it with ScanReader(r, set.Detectors()) and
// puts the hits in Context.Content, or sets ContentHits.TooLarge, in which
// case content policies take their Fallback action. Set.Decide (or
// DecideInto, which reuses a Decision's Matches) gives the outcome;
// Set.Explain is for `cas policy test`.
//
// # Declarative documents
//
// ParseDocument reads an apply file strictly; MarshalDocument writes the
// canonical export (normalized policies sorted by name); PlanChanges says
// what applying would add, change and remove. Exporting, parsing the export
// and planning against the same policies gives an empty plan.
package policy
