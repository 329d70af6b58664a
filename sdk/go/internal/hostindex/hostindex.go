// Package hostindex lets the Go SDK hand zjson the zappy host's JSON
// indexer (sdk/ABI.md, "json_index") without a public hook: inside a zappy
// module the SDK sets Func, and zjson.Parse then reads documents through
// indexes built natively by the host instead of parsing them in wasm.
package hostindex

// Func writes the index records of the JSON document data into dst when
// they fit and returns how many there are; 0 or less when data is not
// JSON or the host refused. Nil outside a zappy module.
var Func func(data, dst []byte) int
