// Entry point of dist/worker.js (the slash worker program).
process.stderr.write('worker: not implemented yet\n');
process.exit(1);
