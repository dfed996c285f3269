//! Generates the ONNX message types (`$OUT_DIR/onnx.rs`) from ONNX's own
//! schema, `proto/onnx.proto3`, with prost. The schema is compiled by protox,
//! a protobuf compiler written in Rust, so no `protoc` needs installing.

fn main() {
    let proto = "proto/onnx.proto3";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"]).unwrap_or_else(|e| panic!("{proto}: {e}"));
    prost_build::Config::new()
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("generating the ONNX types from {proto}: {e}"));
}
