# Rotates the token encryption key in one command (Windows twin of rotate-token-key.sh; keep the two in step):
# adds token-encryption-key-kN to Key Vault (a parameters file only you can read, deleted at once: never on a command
# line, never in the azd environment, never printed), provisions with kN known but not current, then current, and
# waits until GET /api/keys shows no older key protecting a connection. -Wait does the last step only.
param([switch] $Wait)
$ErrorActionPreference = 'Stop'
$hooks = Resolve-Path (Join-Path $PSScriptRoot '../hooks')
. (Join-Path $hooks 'azd-environment.ps1')
. (Join-Path $hooks 'token-keys.ps1')

Assert-AzdOutputs @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_KEY_VAULT_NAME', 'AZURE_FUNCTION_APP_NAME', 'SERVICE_API_URI')
$sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$rg = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'
$app = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
$uri = Get-AzdValue 'SERVICE_API_URI'
Assert-AzSignedIn $sub

$ids = Get-TokenKeyIds $sub $rg $vault
if ($null -eq $ids) { [Console]::Error.WriteLine("ERROR: could not list the token keys of Key Vault $vault; nothing was changed."); exit 1 }
if ($ids.Count -eq 0) { [Console]::Error.WriteLine("ERROR: Key Vault $vault holds no token key yet: run azd up first."); exit 1 }

if (-not $Wait) {
    $new = Get-AzdValue 'TOKEN_KEY_PENDING'
    if (-not $new) {
        $newest = Get-CurrentTokenKey $ids ''
        $new = "k$([int] $newest.Substring(1) + 1)"
        $bytes = [byte[]]::new(32)
        [Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
        $parameters = Join-Path ([IO.Path]::GetTempPath()) ("token-key-" + [Guid]::NewGuid().ToString('N') + '.json')
        try {
            # Created empty and restricted to this user before the key is written into it.
            New-Item -ItemType File -Path $parameters | Out-Null
            if ($IsLinux -or $IsMacOS) { chmod 600 $parameters } else { icacls $parameters /inheritance:r /grant:r "$($env:USERNAME):(R,W)" | Out-Null }
            $content = @{
                '$schema' = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
                contentVersion = '1.0.0.0'
                parameters = @{ vaultName = @{ value = $vault }; newTokenKeyId = @{ value = $new }; newTokenKey = @{ value = [Convert]::ToBase64String($bytes) } }
            }
            [IO.File]::WriteAllText($parameters, ($content | ConvertTo-Json -Depth 5))
            az deployment group create --subscription $sub --resource-group $rg --name "token-key-$new" `
                --template-file (Join-Path $hooks 'app-keys.bicep') --parameters "@$parameters" --output none
            if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
        }
        finally {
            Remove-Item -Force -ErrorAction SilentlyContinue $parameters
            [Array]::Clear($bytes, 0, $bytes.Length)
        }
        azd env set TOKEN_KEY_PENDING $new | Out-Null
        Write-Host "token-encryption-key-${new}: created in Key Vault $vault (32 random bytes)."
        Write-Host "Provisioning with $new known but not current, so every instance can read it before any writes with it."
        azd provision --no-prompt
        if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    }
    else {
        Write-Host "Resuming the rotation to $new (TOKEN_KEY_PENDING)."
    }
    azd env set TOKEN_KEY_PENDING '' | Out-Null
    Write-Host "Provisioning with $new current."
    azd provision --no-prompt
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

# The master key stays in this process (a request header), never an argument of another process.
$master = "$(az functionapp keys list --subscription $sub --resource-group $rg --name $app --query masterKey --output tsv)".Trim()
$headers = @{ 'x-functions-key' = $master }
$poll = if ($env:ROTATION_POLL_SECONDS) { [int] $env:ROTATION_POLL_SECONDS } else { 60 }
$timeout = if ($env:ROTATION_TIMEOUT_SECONDS) { [int] $env:ROTATION_TIMEOUT_SECONDS } else { 3600 }
$started = Get-Date
while ($true) {
    try { Invoke-RestMethod -Method Post -Uri "$uri/api/keys/reencrypt" -Headers $headers -TimeoutSec 300 | Out-Null } catch { }
    try {
        $keys = Invoke-RestMethod -Uri "$uri/api/keys" -Headers $headers -TimeoutSec 300
        $older = @($keys.keys | Where-Object { -not $_.current })
        $remaining = ($older | Measure-Object -Property connections -Sum).Sum
        if (-not $remaining) {
            Write-Host "Every connection is under $($keys.currentKeyId) now."
            if ($older.Count -gt 0) {
                Write-Host "$(($older | ForEach-Object { $_.id }) -join ' ') protect no connection and may be retired: disable each secret (token-encryption-key for k1, token-encryption-key-<id> for the others), e.g."
                Write-Host "  az keyvault secret set-attributes --vault-name $vault --name <secret> --enabled false"
                Write-Host 'then run azd provision, which drops it from the app''s settings.'
            }
            if ($keys.unreadable -gt 0) {
                Write-Host "WARNING: $($keys.unreadable) connection(s) are under no key the app has (unreadable): don't retire anything before you know why (README.md)."
            }
            exit 0
        }
        Write-Host "$remaining connection(s) still under an older key ($(($older | ForEach-Object { "$($_.id) $($_.connections)" }) -join '; ')); next pass in ${poll}s."
    }
    catch {
        Write-Host "GET /api/keys failed ($($_.Exception.Message)); trying again in ${poll}s."
    }
    if (((Get-Date) - $started).TotalSeconds -ge $timeout) {
        [Console]::Error.WriteLine("ERROR: older keys still protect connections after ${timeout}s. Run again: $PSCommandPath -Wait")
        exit 1
    }
    Start-Sleep -Seconds $poll
}
