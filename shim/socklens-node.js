// socklens-node.js - loaded by socklens's shim into Node.js programs (node --require), so that
// the sockets Node opens for a program later, from its event loop, are shown at the program's own
// function that asked for them.
//
// net.connect() and server.listen() return before any system call: Node makes the socket, the
// connect(), bind() and listen() in a later tick. Where they are called, Node's diagnostics
// channels publish ('net.client.socket', 'tracing:net.server.listen:asyncStart'); there this
// script reads the JavaScript stack from V8 (its call sites: function, file, line), describes it
// to the shim, and keeps the id the shim answers, per socket or server. Around the deferred calls
// (the TCP handle's connect and Server#_listen2, which Node keeps for wrappers) it names that id
// again, and the shim records those calls' sockets with that stack. The script describes through
// an environment variable the shim never lets be set, and names through os.getPriority() with
// pids no process can have; the shim answers both so only in a process it loaded this script into.
//
// Nothing here may change what the program sees: no output, no exceptions, no timers; the
// environment is put back as it was (the shim added this script to NODE_OPTIONS), and any
// failure leaves the program as it would be without it.
'use strict';
(function socklens() {
  const ours = '--require "' + __filename + '"';
  const opts = process.env.NODE_OPTIONS;
  if (opts === ours) delete process.env.NODE_OPTIONS;
  else if (typeof opts === 'string' && opts.endsWith(' ' + ours))
    process.env.NODE_OPTIONS = opts.slice(0, -ours.length - 1);

  // 'net' itself is not loaded here: a program that never uses it does not pay for compiling it
  let os, dc;
  try {
    os = require('os');
    dc = require('diagnostics_channel');
  } catch {
    return;
  }
  // what is called later, taken now: a program that replaces them afterwards is not disturbed
  const getPriority = os.getPriority, apply = Reflect.apply;
  const TAKE = 0x7E000000, SET = 0x7F000000;
  const origins = new WeakMap(); // socket or server -> the shim's stack id
  const VAR = 'SOCKLENS_NODE_ORIGIN', DEPTH = 16;
  const sites = (_, cs) => cs;
  // The stack of the program's call, innermost first, without this script's and the channel's
  // frames: "function<TAB>file<TAB>line" a line each.
  function describe() {
    const prepare = Error.prepareStackTrace, limit = Error.stackTraceLimit, holder = {};
    let cs;
    try {
      Error.prepareStackTrace = sites;
      Error.stackTraceLimit = DEPTH;
      Error.captureStackTrace(holder, describe);
      cs = holder.stack;
    } finally {
      Error.prepareStackTrace = prepare;
      Error.stackTraceLimit = limit;
    }
    if (!Array.isArray(cs)) return '';
    let text = '';
    for (const c of cs) {
      let file = c.getFileName() || '';
      if (file === __filename || file === 'node:diagnostics_channel') continue;
      if (file.startsWith('file://')) file = file.slice(7);
      // (getMethodName, which searches the receiver's properties, would double the cost)
      const fn = c.getFunctionName();
      let name = fn || '(anonymous)';
      if (fn && !fn.includes('.') && !c.isToplevel()) {
        const type = c.getTypeName();
        if (type && type !== 'Object') name = type + '.' + fn;
      }
      text += name.replace(/[\t\n]/g, ' ') + '\t' + file.replace(/[\t\n]/g, ' ') + '\t' + (c.getLineNumber() || 0) + '\n';
    }
    return text;
  }
  function take() {
    try {
      const text = describe();
      if (!text) return 0;
      process.env[VAR] = text; // the shim interns it; the variable is never set
      return getPriority(TAKE) >>> 0;
    } catch {
      return 0;
    }
  }
  const tell = (id) => { try { getPriority(SET + id); } catch { /* not ours to report */ } };
  function around(id, fn, self, args) {
    if (!id) return apply(fn, self, args);
    tell(id);
    try {
      return apply(fn, self, args);
    } finally {
      tell(0);
    }
  }

  // The handle's owner (the socket), as Node links them.
  let ownerKey;
  function owner(handle) {
    if (ownerKey === undefined)
      ownerKey = Object.getOwnPropertySymbols(handle).find((s) => s.description === 'owner_symbol') || null;
    return ownerKey ? handle[ownerKey] : undefined;
  }

  // TCP.prototype is reached through the first socket's handle, which exists once the call that
  // published has returned: its connect runs in a later tick than this one. A TLS socket's handle
  // wraps the TCP one (_parent), whose connect it calls; that TCP handle has no owner of its own,
  // so its origin is kept on it.
  let patched = false;
  function patchHandles(socket) {
    const handle = socket._handle && (socket._handle._parent || socket._handle);
    const proto = handle && Object.getPrototypeOf(handle);
    if (patched || !proto) return;
    patched = true;
    for (const name of ['connect', 'connect6']) {
      const real = proto[name];
      if (typeof real !== 'function') continue;
      proto[name] = function (...args) {
        const o = owner(this);
        return around((o && origins.get(o)) || origins.get(this), real, this, args);
      };
    }
  }

  // tls.connect (https, and any TLS client) makes its socket without net.connect, so without the
  // channel: Socket#connect, called in the program's own call chain, is wrapped once net is loaded
  // (the first socket or HTTP request says so).
  let socketPatched = false;
  function patchSocketConnect(proto) {
    if (socketPatched || !proto || typeof proto.connect !== 'function') return;
    socketPatched = true;
    const real = proto.connect;
    proto.connect = function connect(...args) {
      let id = origins.get(this);
      if (!id && (id = take())) origins.set(this, id);
      let r;
      try {
        r = apply(real, this, args);
      } catch (e) {
        scrub(e);
        throw e;
      }
      try {
        const parent = this._handle && this._handle._parent;
        if (id && parent) origins.set(parent, id);
        if (id && !patched) patchHandles(this); /* before the tick that connects it */
      } catch { /* the program's socket as it is */ }
      return r;
    };
  }
  // An error thrown while connecting (a bad port, an invalid address) is seen by the program
  // without this script's frame in its stack, as it would be without socklens.
  function scrub(e) {
    try {
      if (e && typeof e.stack === 'string' && e.stack.includes(__filename))
        e.stack = e.stack.split('\n').filter((l) => !l.includes(__filename)).join('\n');
    } catch { /* a frozen error: as it is */ }
  }
  const socketProto = (socket) => {
    for (let p = Object.getPrototypeOf(socket); p; p = Object.getPrototypeOf(p))
      if (Object.prototype.hasOwnProperty.call(p, 'connect') && Object.prototype.hasOwnProperty.call(p, 'setNoDelay'))
        return p;
    return null;
  };

  try {
    dc.subscribe('net.client.socket', ({ socket }) => {
      if (!socketPatched) patchSocketConnect(socketProto(socket));
      const id = take();
      if (!id) return;
      origins.set(socket, id);
      if (!patched) process.nextTick(patchHandles, socket);
    });
    // an HTTP(S) request starts before its socket exists: net is loaded by then
    dc.subscribe('http.client.request.start', () => {
      if (!socketPatched) {
        try { patchSocketConnect(require('net').Socket.prototype); } catch { /* as without us */ }
      }
    });
    // Server#_listen2 (bind and listen, perhaps a tick later) is found from the first server
    // that listens: listen() publishes before it calls it
    let listenPatched = false;
    dc.subscribe('tracing:net.server.listen:asyncStart', ({ server }) => {
      if (!socketPatched) {
        try { patchSocketConnect(require('net').Socket.prototype); } catch { /* as without us */ }
      }
      const id = take();
      if (id) origins.set(server, id);
      if (listenPatched) return;
      for (let proto = Object.getPrototypeOf(server); proto; proto = Object.getPrototypeOf(proto)) {
        if (!Object.prototype.hasOwnProperty.call(proto, '_listen2')) continue;
        const listen2 = proto._listen2;
        if (typeof listen2 === 'function')
          proto._listen2 = function (...args) {
            return around(origins.get(this), listen2, this, args);
          };
        listenPatched = true;
        break;
      }
    });
  } catch {
    // an older Node.js without these channels: its own frames only
  }
})();
