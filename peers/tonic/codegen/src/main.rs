//! Writes the Rust code of chat.proto with tonic-prost-build from a descriptor set that
//! `buf build` made (generate.sh), so that no protoc is needed:
//! `tonic-lab-codegen IMAGE OUT_DIR`.
use prost::Message;
use std::{env, fs, process};

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() != 3 {
        eprintln!("tonic-lab-codegen: usage: tonic-lab-codegen DESCRIPTOR_SET OUT_DIR");
        process::exit(2);
    }
    let bytes = fs::read(&args[1]).unwrap_or_else(|e| {
        eprintln!("tonic-lab-codegen: cannot read {}: {e}", args[1]);
        process::exit(2)
    });
    let fds = prost_types::FileDescriptorSet::decode(bytes.as_slice()).unwrap_or_else(|e| {
        eprintln!("tonic-lab-codegen: {} is no descriptor set: {e}", args[1]);
        process::exit(2)
    });
    if let Err(e) = tonic_prost_build::configure().out_dir(&args[2]).compile_fds(fds) {
        eprintln!("tonic-lab-codegen: {e}");
        process::exit(1);
    }
}
