// Package factspb is the protobuf code generated from facts/facts.proto by
// `make proto` (protoc-gen-go); it is committed so builds need no protoc. Do
// not edit it by hand: change facts.proto and regenerate.
//
// Callers outside package facts do not use it: facts encodes and decodes
// records, state rows and archived orders (a format byte first, then these
// messages) and keeps the version rules in one place.
package factspb
