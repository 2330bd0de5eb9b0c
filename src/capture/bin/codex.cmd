@echo off
rem Burn Rate's codex wrapper for Windows, first on PATH in metered environments only (see the POSIX
rem `codex` beside it): runs the next codex on PATH with -c openai_base_url=<the proxy's openai route>.
setlocal EnableDelayedExpansion
set "here=%~dp0"
set "real="
for %%E in (.cmd .exe .bat .ps1) do (
  if not defined real for /f "delims=" %%P in ('where codex%%E 2^>nul') do (
    if not defined real if /i not "%%~dpP"=="!here!" set "real=%%P"
  )
)
if not defined real (
  echo codex: command not found ^(Burn Rate's wrapper found no codex on PATH after !here!^) 1>&2
  exit /b 9009
)
set "addbase=1"
if "%BURNRATE_PROXY%"=="" set "addbase="
echo " %BURNRATE_CAPTURE% " | findstr /c:" openai=" >nul || set "addbase="
echo %* | findstr /c:"openai_base_url" >nul && set "addbase="
if "%CODEX_HOME%"=="" (set "config=%USERPROFILE%\.codex\config.toml") else (set "config=%CODEX_HOME%\config.toml")
if exist "!config!" findstr /r /c:"^ *openai_base_url *=" "!config!" >nul && set "addbase="
if defined addbase (
  "!real!" -c "openai_base_url=\"%BURNRATE_PROXY%/openai/v1\"" %*
) else (
  "!real!" %*
)
exit /b !errorlevel!
