//! The zip of an import, read within limits set before anything is inflated.
//!
//! The central directory is walked by hand first: it is where a zip states each file's name
//! and unpacked size, and the `zip` crate keys its index by name, so a second `manifest.json`
//! would silently replace the first there. Every name must be unique (raw bytes), every
//! stated size within the limits, and the total too, before one byte is unpacked; a file
//! that inflates past its stated size is refused while it is read.

use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read};

use crate::error::AppError;

/// The largest zip an import accepts (the request body limit of its route).
pub const MAX_ZIP_BYTES: usize = 32 * 1024 * 1024;
/// Unpacked, all files together. A whole-tenant export of 1,000 policies is about 10 MiB.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;
/// Unpacked, one file (the manifest or one policy document). The largest Intune objects
/// (an app with its icon, a settings catalog policy with hundreds of settings) stay far below.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Files in one zip.
pub const MAX_FILES: usize = 50_000;

/// One file as the central directory states it.
#[derive(Debug)]
pub struct Stated {
    pub name: String,
    pub size: u64,
}

fn bad(msg: impl Into<String>) -> AppError {
    AppError::Invalid(msg.into())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const DIRECTORY_ENTRY: u32 = 0x0201_4b50;

/// The files the central directory lists, checked: unique raw names, sizes within limits.
pub fn directory(zip: &[u8]) -> Result<Vec<Stated>, AppError> {
    let not_zip = || bad("the file is not a zip archive; upload the zip that \"Download zip\" made");
    // The end record is 22 bytes plus a comment of at most 65,535.
    let earliest = zip.len().saturating_sub(22 + usize::from(u16::MAX));
    let end = (earliest..=zip.len().saturating_sub(22))
        .rev()
        .find(|&i| u32_at(zip, i) == Some(END_OF_DIRECTORY))
        .ok_or_else(not_zip)?;
    let count = usize::from(u16_at(zip, end + 10).ok_or_else(not_zip)?);
    let size = u32_at(zip, end + 12).ok_or_else(not_zip)? as usize;
    let offset = u32_at(zip, end + 16).ok_or_else(not_zip)? as usize;
    if count == usize::from(u16::MAX) || size == u32::MAX as usize || offset == u32::MAX as usize {
        return Err(bad("the zip is a ZIP64 archive, which policyvault exports never are"));
    }
    if count > MAX_FILES {
        return Err(bad(format!("the zip holds more than {MAX_FILES} files")));
    }
    let dir = zip.get(offset..offset.saturating_add(size)).ok_or_else(not_zip)?;
    let mut at = 0;
    let mut names = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    let mut total: u64 = 0;
    for n in 0..count {
        let entry = || bad(format!("entry {} of the zip's directory is damaged", n + 1));
        if u32_at(dir, at) != Some(DIRECTORY_ENTRY) {
            return Err(entry());
        }
        let stated = u64::from(u32_at(dir, at + 24).ok_or_else(entry)?);
        let name_len = usize::from(u16_at(dir, at + 28).ok_or_else(entry)?);
        let extra_len = usize::from(u16_at(dir, at + 30).ok_or_else(entry)?);
        let comment_len = usize::from(u16_at(dir, at + 32).ok_or_else(entry)?);
        let raw = dir.get(at + 46..at + 46 + name_len).ok_or_else(entry)?;
        at += 46 + name_len + extra_len + comment_len;
        let name = String::from_utf8_lossy(raw).into_owned();
        if !names.insert(raw.to_vec()) {
            return Err(bad(format!(
                "the zip holds {name} twice; it was not made by policyvault"
            )));
        }
        if name.ends_with('/') {
            continue;
        }
        if stated > MAX_FILE_BYTES {
            return Err(bad(format!(
                "{name} unpacks to {stated} bytes; an imported file may be at most {} MiB",
                MAX_FILE_BYTES >> 20
            )));
        }
        total += stated;
        if total > MAX_UNPACKED_BYTES {
            return Err(bad(format!(
                "the zip unpacks to more than {} MiB; an import may be at most that",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        out.push(Stated { name, size: stated });
    }
    Ok(out)
}

/// The zip, opened (its directory already checked by [`directory`]).
pub struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
}

impl<'a> Archive<'a> {
    pub fn open(bytes: &'a [u8]) -> Result<Self, AppError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            bad(format!(
                "the file is not a zip archive ({e}); upload the zip that \"Download zip\" made"
            ))
        })?;
        Ok(Archive { zip })
    }

    /// One file's bytes; refused when it inflates past the size its directory entry states.
    pub fn read(&mut self, stated: &Stated) -> Result<Vec<u8>, AppError> {
        let mut f = self
            .zip
            .by_name(&stated.name)
            .map_err(|e| bad(format!("{} in the zip cannot be read: {e}", stated.name)))?;
        let mut data = Vec::with_capacity(usize::try_from(stated.size).unwrap_or(0));
        (&mut f)
            .take(stated.size + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("{} in the zip cannot be unpacked: {e}", stated.name)))?;
        if data.len() as u64 > stated.size {
            return Err(bad(format!(
                "{} unpacks to more than the size the zip states for it; the zip was changed",
                stated.name
            )));
        }
        Ok(data)
    }
}

/// The stated files by name.
pub fn by_name(stated: Vec<Stated>) -> BTreeMap<String, Stated> {
    stated.into_iter().map(|s| (s.name.clone(), s)).collect()
}
