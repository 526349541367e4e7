# triton_style_client.py — an independent gRPC client of the gateway, in Python with grpcio and
# stubs that grpc_tools.protoc generates from the project's .proto at test time (the directory
# is given as argv[2]). It calls the gateway the way tritonclient.grpc does (its
# InferenceServerClient: is_server_live / is_server_ready / get_model_metadata / infer with
# numpy arrays as raw_input_contents and outputs read with numpy.frombuffer, client_timeout as
# the gRPC deadline, headers as metadata, start_stream / async_stream_infer), and prints one JSON
# line of what it saw, for test/integration/grpc-interop.test.ts to check.
# Usage: python3 triton_style_client.py HOST:PORT STUB_DIR

import json
import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
import numpy as np  # noqa: E402

import grpc_predict_v2_pb2 as pb  # noqa: E402
import grpc_predict_v2_pb2_grpc as pb_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402


def infer_request(model, x, request_id=""):
    req = pb.ModelInferRequest(model_name=model, id=request_id)
    tensor = req.inputs.add()
    tensor.name = "x"
    tensor.datatype = "FP32"
    tensor.shape.extend(x.shape)
    req.outputs.add().name = "y"
    req.raw_input_contents.append(x.astype(np.float32).tobytes())
    return req


def output_array(response, name):
    for i, out in enumerate(response.outputs):
        if out.name == name:
            return np.frombuffer(response.raw_output_contents[i], dtype=np.float32).reshape(list(out.shape))
    raise KeyError(name)


def main():
    channel = grpc.insecure_channel(sys.argv[1], options=[("grpc.max_receive_message_length", 2**31 - 1)])
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    seen = {}
    seen["live"] = stub.ServerLive(pb.ServerLiveRequest()).live
    seen["ready"] = stub.ServerReady(pb.ServerReadyRequest()).ready
    seen["server"] = stub.ServerMetadata(pb.ServerMetadataRequest()).name
    meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="linear"))
    seen["inputs"] = [[t.name, t.datatype, list(t.shape)] for t in meta.inputs]
    seen["model_ready"] = stub.ModelReady(pb.ModelReadyRequest(name="linear")).ready

    x = np.array([[1, 2, 3, 4], [0.5, -1, 2, 8]], dtype=np.float32)
    response, call = stub.ModelInfer.with_call(
        infer_request("linear", x, "py-1"), timeout=10.0, metadata=(("x-request-id", "python-interop-1"),))
    seen["id"] = response.id
    seen["y"] = output_array(response, "y").tolist()
    seen["request_id"] = dict(call.initial_metadata()).get("x-request-id")

    try:
        stub.ModelInfer(infer_request("nope", x), timeout=10.0)
        seen["unknown"] = "no error"
    except grpc.RpcError as err:
        seen["unknown"] = [err.code().name, err.details()]

    # tritonclient's start_stream + async_stream_infer: one stream, answers matched by id.
    requests = [infer_request("linear", x[i:i + 1], "s%d" % i) for i in range(2)]
    answers = {}
    for message in stub.ModelStreamInfer(iter(requests), timeout=10.0):
        answers[message.infer_response.id] = [message.error_message, output_array(message.infer_response, "y").tolist()]
    seen["stream"] = answers

    health = health_pb2_grpc.HealthStub(channel)
    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5.0).status
    seen["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    print(json.dumps(seen))


main()
