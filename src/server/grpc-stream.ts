// grpc-stream.ts — ModelStreamInfer (Triton's streaming extension of the protocol): every message
// on the stream is one ModelInfer through the model's path, admitted, guarded, counted and
// cancelled like a unary call. Answers go out as they finish, each with its request's id (as
// Triton's clients match them); a failed request answers with error_message and the stream goes
// on. At most `perStream` requests of one stream run at once: past that the stream stops being
// read (HTTP/2 flow control pushes back on the client) until one finishes. The stream ends when
// the client has half-closed it and every answer is written; a cancel aborts what still runs.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_sequence.md#grpc

import type { ServerDuplexStream, StatusObject } from '@grpc/grpc-js';
import type { GrpcInferRequest } from '../codecs/v2-grpc.ts';
import type { GatewayError } from '../errors.ts';
import { grpcLimit, modelInfer, type GrpcConfig } from '../frontends/grpc.ts';
import type { CallContext, FrontendDeps } from '../types.ts';
import type { AccessConfig } from './access.ts';
import { grpcStatusOf } from './grpc-status.ts';
import { requestIdOf } from './request-id.ts';

/** CallRun is what a handler gets: the call's context, the current state's frontend deps and grpc block, and the access check. */
export interface CallRun {
  ctx: CallContext;
  deps: FrontendDeps;
  config: GrpcConfig & AccessConfig;
  /** Applies the block's auth and rate limit; rejects 401/403/429. */
  guard(): Promise<void>;
}

/** Admission is one admitted call (or one message of a stream); end() is called exactly once. */
export interface Admission {
  run: CallRun;
  end(code: number): void;
  fail(err: unknown): { status: Partial<StatusObject>; error: GatewayError };
}

const perStream = 64;

/** streamInfer serves one ModelStreamInfer call; admit() admits each of its requests. */
export function streamInfer(call: ServerDuplexStream<GrpcInferRequest, unknown>, admit: (requestId: string) => Admission, refuse: (msg: unknown) => void): void {
  let pending = 0;
  let ended = false;
  let count = 0;
  const given = call.metadata.get('x-request-id')[0];
  const base = requestIdOf(typeof given === 'string' && given.length <= 100 ? { 'x-request-id': given } : {});
  // Each request listens for the stream's cancel while it runs.
  call.setMaxListeners(perStream + 16);
  const finish = (): void => {
    if (ended && pending === 0 && !call.cancelled) call.end();
  };
  const write = (message: unknown): void => {
    if (!call.cancelled && call.writable) call.write(message);
  };
  call.on('data', (msg: GrpcInferRequest) => {
    pending++;
    if (pending >= perStream) call.pause();
    const requestId = `${base}.${count++}`;
    void (async () => {
      let admitted: Admission | undefined;
      let code = 200;
      try {
        admitted = admit(requestId);
        refuse(msg);
        await admitted.run.guard();
        const { message } = await modelInfer(admitted.run.deps, msg, admitted.run.ctx, grpcLimit(admitted.run.config));
        write({ error_message: '', infer_response: message });
      } catch (err) {
        const { error } = admitted?.fail(err) ?? grpcStatusOf(err);
        code = error.status;
        write({ error_message: error.message, infer_response: { id: msg.id ?? '', model_name: msg.model_name ?? '', model_version: msg.model_version ?? '' } });
      } finally {
        admitted?.end(code);
        pending--;
        if (pending < perStream && call.isPaused()) call.resume();
        finish();
      }
    })();
  });
  call.on('end', () => {
    ended = true;
    finish();
  });
  // A cancelled stream errors on the read side; each running request hears the cancel itself.
  call.on('error', () => {});
}
