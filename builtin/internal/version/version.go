// Package version holds the built-in module's version, shared by the module
// (which puts it in its manifest) and the host (zappy version).
package version

// Version of the built-in module; bump it when a type's behaviour changes.
const Version = "1.0.0"
