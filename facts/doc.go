// Package facts is the leaf package of what boxoffice writes down: journal
// records (facts: what a show decided), the state rows that checkpoint a
// show, the order and inventory events of the outbox, and archived orders;
// with their versioned binary encoding (protobuf, schema facts.proto,
// generated code in factspb). It imports nothing of boxoffice, so that the
// seat map (actors/seatmap), the shell (actors) and the stores
// (persistence/*) can all depend on it.
//
// # Facts, not commands
//
// A Record is what one state-changing command decided, as Facts: "hold H
// took seats 9, 10, 11 for user U, amount A, until T", "order O was created
// from H", "hold H expired". Replaying a record applies its facts and
// decides nothing: no best-available search, no limit, no validation runs
// again, so a new version of the code recovers exactly the state that was
// acknowledged. Records written before facts (JSON commands) decode with
// Legacy set; the seat map re-runs them the old way.
//
// # Encoding
//
// The messages between cluster nodes (a command for a show on another
// member, and its answer) are protobuf too (wire.proto, converted in
// package actors), with the same format byte first.
//
// Every stored value starts with one format byte: FormatV1 (0x01) followed by
// a protobuf message of facts.proto. A value that starts with '{' is the JSON
// of the format before (records: seatmap.Command; snapshots: the JSON
// snapshot) and stays readable. A new incompatible format takes the next
// byte; decoders refuse bytes they do not know (ErrUnknownFormat).
//
// Callers' duties: treat decoded slices as owned by the caller only when the
// function says so (DecodeRecord copies; row decoders may alias their input).
package facts
