// V8 flags for our own long-lived node processes (the embedded gateway, the workers). The young
// generation grows to 16 MB per semi-space under allocation and V8 keeps it committed: over 1,000
// sessions the gateway's RSS grew ~25 MB with a live heap of ~5 MB. Capped at 1 MB, the growth
// stays within a few MB; the cost is more frequent scavenges, negligible for I/O-bound processes.
// Plain V8 flags: node and Electron-as-node (ELECTRON_RUN_AS_NODE) both accept them before the script.
export const SMALL_HEAP_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
