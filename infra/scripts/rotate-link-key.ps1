# Rotates the onboarding link signing key in one command (Windows twin of rotate-link-key.sh; keep the two in step): a new
# version of onboarding-signing-key through app-keys.bicep (a parameters file only you can read, deleted at once), then a
# restart so the app reads it. Links made before stop working at once.
$ErrorActionPreference = 'Stop'
$hooks = Resolve-Path (Join-Path $PSScriptRoot '../hooks')

. (Join-Path $hooks 'azd-environment.ps1')

Assert-AzdOutputs @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_KEY_VAULT_NAME', 'AZURE_FUNCTION_APP_NAME')
$sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$rg = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$vault = Get-AzdValue 'AZURE_KEY_VAULT_NAME'
$app = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
Assert-AzSignedIn $sub

$bytes = [byte[]]::new(32)
[Security.Cryptography.RandomNumberGenerator]::Fill($bytes)
$parameters = Join-Path ([IO.Path]::GetTempPath()) ("link-key-" + [Guid]::NewGuid().ToString('N') + '.json')
try {
    # Created empty and restricted to this user before the key is written into it.
    New-Item -ItemType File -Path $parameters | Out-Null
    if ($IsLinux -or $IsMacOS) { chmod 600 $parameters } else { icacls $parameters /inheritance:r /grant:r "$($env:USERNAME):(R,W)" | Out-Null }
    $content = @{
        '$schema' = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
        contentVersion = '1.0.0.0'
        parameters = @{ vaultName = @{ value = $vault }; onboardingSigningKey = @{ value = [Convert]::ToBase64String($bytes) } }
    }
    [IO.File]::WriteAllText($parameters, ($content | ConvertTo-Json -Depth 5))
    az deployment group create --subscription $sub --resource-group $rg --name ("link-key-" + (Get-Date -Format 'yyyyMMddHHmmss')) `
        --template-file (Join-Path $hooks 'app-keys.bicep') --parameters "@$parameters" --output none
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}
finally {
    Remove-Item -Force -ErrorAction SilentlyContinue $parameters
    [Array]::Clear($bytes, 0, $bytes.Length)
}
Write-Output "onboarding-signing-key: a new version in Key Vault $vault (32 random bytes)."

az functionapp restart --subscription $sub --resource-group $rg --name $app --output none
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
Write-Output "$app restarted: it signs and accepts links with the new key only."
Write-Output 'Links made before now no longer work (Start answers 403 "This link is not valid"): ask your backend for new links'
Write-Output '(POST /api/onboarding-links) for customers who have not connected yet. Connections already made are not affected.'
