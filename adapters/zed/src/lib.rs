//! ast-complete for Zed: launches the engine as a language server (`ast-complete lsp`)
//! for the supported languages. The server also opens the OpenAI-compatible
//! endpoint that Zed's `open_ai_compatible_api` edit-prediction provider calls
//! (see README.md): Zed's extension API has no edit-prediction hook of its own.
//! The endpoint always wants a bearer token; the server keeps it in a private file
//! (`ast-complete http-token` prints it), so nothing secret goes into its arguments.

use std::fs;
use zed_extension_api::{self as zed, settings::LspSettings, LanguageServerId, Result};

/// The GitHub repository whose releases carry the binary.
const REPOSITORY: &str = "ast-complete/ast-complete";
/// The binary's name on PATH and inside a release archive.
const BINARY: &str = "ast-complete";
/// Where the OpenAI-compatible endpoint listens unless the settings say otherwise.
pub const DEFAULT_HTTP_PORT: u16 = 39217;

/// The release archive for a platform, e.g. `ast-complete-linux-x86_64.tar.gz`.
pub fn asset_name(os: zed::Os, arch: zed::Architecture) -> Option<String> {
    let os = match os {
        zed::Os::Mac => "macos",
        zed::Os::Linux => "linux",
        zed::Os::Windows => "windows",
    };
    let arch = match arch {
        zed::Architecture::Aarch64 => "aarch64",
        zed::Architecture::X8664 => "x86_64",
        // No 32-bit build: llama.cpp's CPU kernels need a 64-bit target.
        zed::Architecture::X86 => return None,
    };
    Some(format!("{BINARY}-{os}-{arch}.tar.gz"))
}

/// The server's arguments: the user's own from the LSP settings, else `lsp` on the
/// worktree with the endpoint on its default port.
pub fn server_args(worktree_root: &str, configured: Option<Vec<String>>) -> Vec<String> {
    configured.unwrap_or_else(|| {
        vec![
            "lsp".into(),
            "--workspace".into(),
            worktree_root.into(),
            "--http-port".into(),
            DEFAULT_HTTP_PORT.to_string(),
        ]
    })
}

struct AstCompleteExtension {
    /// A downloaded binary, once found.
    downloaded: Option<String>,
}

impl AstCompleteExtension {
    /// The binary: the path in the LSP settings, else on PATH, else the latest release.
    fn binary(&mut self, id: &LanguageServerId, worktree: &zed::Worktree) -> Result<String> {
        if let Some(path) = LspSettings::for_worktree(BINARY, worktree)
            .ok()
            .and_then(|settings| settings.binary)
            .and_then(|binary| binary.path)
        {
            return Ok(path);
        }
        if let Some(path) = worktree.which(BINARY) {
            return Ok(path);
        }
        if let Some(path) = &self.downloaded {
            if fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
                return Ok(path.clone());
            }
        }
        zed::set_language_server_installation_status(
            id,
            &zed::LanguageServerInstallationStatus::CheckingForUpdate,
        );
        let release = zed::latest_github_release(
            REPOSITORY,
            zed::GithubReleaseOptions {
                require_assets: true,
                pre_release: false,
            },
        )?;
        let (os, arch) = zed::current_platform();
        let name = asset_name(os, arch).ok_or("ast-complete has no build for 32-bit x86")?;
        let asset = release
            .assets
            .iter()
            .find(|asset| asset.name == name)
            .ok_or_else(|| format!("release {} has no asset {name}", release.version))?;
        let dir = format!("{BINARY}-{}", release.version);
        let path = format!("{dir}/{BINARY}");
        if !fs::metadata(&path).is_ok_and(|meta| meta.is_file()) {
            zed::set_language_server_installation_status(
                id,
                &zed::LanguageServerInstallationStatus::Downloading,
            );
            zed::download_file(&asset.download_url, &dir, zed::DownloadedFileType::GzipTar)
                .map_err(|error| format!("downloading {name} failed: {error}"))?;
            zed::make_file_executable(&path)?;
        }
        self.downloaded = Some(path.clone());
        Ok(path)
    }
}

impl zed::Extension for AstCompleteExtension {
    fn new() -> Self {
        Self { downloaded: None }
    }

    fn language_server_command(
        &mut self,
        id: &LanguageServerId,
        worktree: &zed::Worktree,
    ) -> Result<zed::Command> {
        let configured = LspSettings::for_worktree(BINARY, worktree)
            .ok()
            .and_then(|settings| settings.binary)
            .and_then(|binary| binary.arguments);
        Ok(zed::Command {
            command: self.binary(id, worktree)?,
            args: server_args(&worktree.root_path(), configured),
            env: Default::default(),
        })
    }
}

zed::register_extension!(AstCompleteExtension);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_names_per_platform() {
        assert_eq!(
            asset_name(zed::Os::Linux, zed::Architecture::X8664).as_deref(),
            Some("ast-complete-linux-x86_64.tar.gz")
        );
        assert_eq!(
            asset_name(zed::Os::Mac, zed::Architecture::Aarch64).as_deref(),
            Some("ast-complete-macos-aarch64.tar.gz")
        );
        assert_eq!(
            asset_name(zed::Os::Windows, zed::Architecture::X8664).as_deref(),
            Some("ast-complete-windows-x86_64.tar.gz")
        );
        assert_eq!(asset_name(zed::Os::Linux, zed::Architecture::X86), None);
    }

    #[test]
    fn default_args_run_lsp_on_the_worktree_with_the_endpoint() {
        let args = server_args("/home/me/project", None);
        assert_eq!(
            args,
            [
                "lsp",
                "--workspace",
                "/home/me/project",
                "--http-port",
                "39217"
            ]
        );
        // Every local user can read a process's arguments: the token stays in its file.
        assert!(!args.iter().any(|arg| arg.contains("token")));
    }

    #[test]
    fn configured_args_win() {
        let configured = vec![
            "lsp".to_string(),
            "--http-port".to_string(),
            "4000".to_string(),
        ];
        assert_eq!(server_args("/p", Some(configured.clone())), configured);
    }
}
