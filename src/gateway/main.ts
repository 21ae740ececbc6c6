// Entry point of dist/gateway.js (the embedded gateway program).
process.stderr.write('gateway: not implemented yet\n');
process.exit(1);
