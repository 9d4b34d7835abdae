// client.js - what a Node.js program's own functions do with sockets: a listen on a port already
// taken, a request to a server that never answers, and a refused connect.
'use strict';
const net = require('net');

function startServer(port, done) {
  const srv = net.createServer();
  srv.on('error', (e) => { console.log('listen:', e.code); done(); });
  srv.listen(port, '127.0.0.1'); // the port is taken
}

function sendRequest(sock) {
  sock.write('GET / HTTP/1.0\r\n\r\n'); // the server never answers
}

function fetchStatus(port) {
  const s = net.connect(port, '127.0.0.1'); // nothing listens: refused
  s.on('error', (e) => console.log('refused:', e.code));
}

const silent = net.createServer(() => {}); // accepts, reads nothing, answers nothing
silent.listen(0, '127.0.0.1', () => {
  startServer(silent.address().port, () => {
    const c = net.connect(silent.address().port, '127.0.0.1', () => sendRequest(c));
    setTimeout(() => {
      console.log('no reply after 2.5 s');
      fetchStatus(Number(process.argv[2]));
      setTimeout(() => process.exit(0), 500);
    }, 2500);
  });
});
