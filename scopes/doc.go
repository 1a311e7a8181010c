// Package scopes maps HTTP methods to OAuth2 scope actions, parses and
// formats "resource:action" scopes and RFC 6749 scope strings, and keeps the
// registry of declared resources from which every supported scope and its
// description is derived.
//
// It is pure: no I/O, no globals, and it imports nothing else from authgate,
// so the authorization server, the resource-server middleware and the
// consent page all agree on one definition of a scope.
package scopes
