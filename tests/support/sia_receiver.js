#!/usr/bin/env node
// An independent SIA DC-09 receiver for the integration tests: the receiver
// class of the npm package iobroker.sia (build/lib/sia.js), on TCP and UDP on
// one port, for one account.
//
//   node sia_receiver.js --module <sia.js> --host 127.0.0.1 --port N --account 1234 [--key <hex>]
//
// stdout, one line each: "READY <port>" once TCP and UDP both listen; then one
// JSON object per message, {"id","seq","rpref","lpref","act","data_message",
// "data_extended","ts"} for an ACKed message or {"error"} for a NAKed one (or
// a socket error). The receiver's own log goes to stderr. SIGTERM/SIGINT close
// the servers and exit 0.
'use strict';

function parseArgs(argv) {
  const args = {host: '127.0.0.1', key: ''};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (!name.startsWith('--') || value === undefined) throw new Error(`bad argument ${name}`);
    args[name.slice(2)] = value;
  }
  for (const required of ['module', 'port', 'account'])
    if (!args[required]) throw new Error(`--${required} is required`);
  return args;
}

function emit(object) {
  process.stdout.write(JSON.stringify(object) + '\n');
}

function errorText(err) {
  if (err instanceof Error) return err.message;
  return String(err);
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`sia_receiver: ${errorText(err)}\n`);
  process.exit(2);
}

const {sia} = require(args.module);
const port = Number(args.port);
const log = (text) => process.stderr.write(`sia: ${text}\n`);
const receiver = new sia({
  host: args.host,
  port,
  timeout: 30,
  logger: {info: log, debug: log, error: log},
});
receiver.setAccounts([{accountnumber: args.account, aes: !!args.key, hex: true, password: args.key}]);

receiver.on('sia', (msg, err) => {
  if (err !== undefined || !msg) {
    emit({error: errorText(err)});
    return;
  }
  emit({
    id: msg.id,
    seq: msg.seq,
    rpref: msg.rpref,
    lpref: msg.lpref,
    act: msg.act,
    data_message: msg.data_message,
    data_extended: msg.data_extended,
    ts: msg.ts,
  });
});
receiver.on('error', (err) => emit({error: errorText(err)}));
receiver.on('close', () => {});

// sia.js attaches no 'error' handler to the TCP server: a failed listen would
// throw. Report it and exit non-zero, so the test sees the receiver did not start.
const startupFailure = (what) => (err) => {
  process.stderr.write(`sia_receiver: ${what} on ${args.host}:${port}: ${errorText(err)}\n`);
  process.exit(1);
};
receiver.servertcp.on('error', startupFailure('TCP listen failed'));

let listening = 0;
const onListening = () => {
  if (++listening === 2) process.stdout.write(`READY ${port}\n`);
};
receiver.servertcp.once('listening', onListening);
receiver.serverudp.once('listening', onListening);
// Before serverStartUDP: a failed bind comes first to this handler (the one
// sia.js adds only logs and re-emits, which we would not notice).
receiver.serverudp.once('error', (err) => {
  if (listening < 2) startupFailure('UDP bind failed')(err);
});

receiver.serverStartTCP();
receiver.serverStartUDP();

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // Open TCP connections would keep close() waiting: exit at once after
  // closing the listeners, the sockets go with the process.
  try {
    receiver.servertcp.close();
  } catch (err) {}
  try {
    receiver.serverudp.close();
  } catch (err) {}
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('uncaughtException', (err) => emit({error: `uncaught: ${errorText(err)}`}));
