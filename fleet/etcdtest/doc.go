// Package etcdtest runs a real etcd inside a test: a single-member
// cluster embedded in the test binary (go.etcd.io/etcd/server/v3/embed),
// on loopback ports, with its data in a t.TempDir. It is what the tests of
// bounded.dev/fleet and of the example server watch.
//
// [Start] starts a [Server], stopped when the test ends; [Server.Put] and
// [Server.Delete] write through the server's own client and return the
// revision; [Server.Stop], [Server.Restart] and [Server.Wipe] take the
// cluster away, bring it back on the same ports, and give it a new data
// directory (a new cluster, with lower revisions).
//
// # Stop clients before the server
//
// An embedded etcd that stops while plain-text clients are still attached
// waits about seven seconds for their streams to drain. [Server.Stop]
// therefore closes its own client first, and the code under test should
// reach the server through a [Proxy]: [Proxy.Cut] closes every connection
// at once (as a stopped or unreachable etcd does), so cut the proxy, then
// stop the server. [Proxy.Restore] listens again on the same address. The
// test's cleanups run in the same order: a proxy made after the server is
// cut before the server stops.
package etcdtest
