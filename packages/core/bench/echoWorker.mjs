// The baseline of the worker invoke bench: a bare worker that answers each message with itself.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => parentPort.postMessage(message));
