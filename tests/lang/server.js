// server.js - a Node.js server that never closes the connections its clients have finished with
// (allowHalfOpen and no 'end' handler): they pile up in CLOSE_WAIT.
'use strict';
const net = require('net');

function handle(sock) {
  sock.on('data', () => sock.write('OK\n'));
  // bug: no sock.on('end', () => sock.end()) -- with allowHalfOpen the socket stays in CLOSE_WAIT
}

function startServer(port) {
  const srv = net.createServer({ allowHalfOpen: true }, handle);
  srv.listen(port, '127.0.0.1', () => console.log('listening'));
  return srv;
}

const port = Number(process.argv[2]);
startServer(port);
let done = 0;
for (let i = 0; i < 5; i++) { // five clients: each sends a line, reads the answer, and closes its side
  const c = net.connect(port, '127.0.0.1', () => c.end('hi\n'));
  c.on('data', () => { if (++done === 5) setTimeout(() => process.exit(0), 1500); });
}
