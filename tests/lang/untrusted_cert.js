// untrusted_cert.js CERT KEY - an HTTPS server with a self-signed certificate, and https.get, which
// verifies it: the request fails with DEPTH_ZERO_SELF_SIGNED_CERT (Node checks after the handshake).
const https = require('https'), fs = require('fs');
const [cert, key] = process.argv.slice(2);
const srv = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (q, r) => r.end('ok'));
srv.on('tlsClientError', () => {});
srv.listen(0, '127.0.0.1', () => {
  function fetchStatus() {
    https.get({port: srv.address().port, host: '127.0.0.1', servername: 'localhost'}, r => { r.resume(); srv.close(); })
      .on('error', e => { console.log('untrusted_cert:', e.code); srv.close(); });
  }
  fetchStatus();
});
