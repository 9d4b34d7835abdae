// two_uploads.js - two functions each stream to a server that hangs up at once: each write fails
// (EPIPE or ECONNRESET) in libuv, from the event loop; each failure must be shown at its function.
const net = require('net');
const srv = net.createServer(c => c.destroy()).listen(0, '127.0.0.1', () => {
  const port = srv.address().port;
  let left = 2;
  function uploadReport() {
    const s = net.connect(port, '127.0.0.1', () => { const w = () => s.write(Buffer.alloc(65536), e => { if (!e) setImmediate(w); }); w(); });
    s.on('error', e => { console.log('upload:', e.code); if (!--left) srv.close(); });
  }
  function sendMetrics() {
    const s = net.connect(port, '127.0.0.1', () => { const w = () => s.write(Buffer.alloc(65536), e => { if (!e) setTimeout(w, 1); }); w(); });
    s.on('error', e => { console.log('metrics:', e.code); if (!--left) srv.close(); });
  }
  uploadReport(); sendMetrics();
});
