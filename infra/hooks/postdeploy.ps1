# azd postdeploy hook (Windows twin of postdeploy.sh; keep the two in step). Checks that
#  1. the redirect URI to register (FRESHBOOKS_REDIRECT_URI) is on the app's real default host name;
#  2. App Service resolved every Key Vault reference;
#  3. GET /api/health answers 200 and reports every key setting as set (names only, never values).
# 2 and 3 are retried for POSTDEPLOY_TIMEOUT_SECONDS (default 600), restarting the app once halfway:
# a first deploy can meet role assignments that have not taken effect yet.
# Needs the Azure CLI signed in (`az login`).
$ErrorActionPreference = 'Stop'

. (Join-Path $PSScriptRoot 'azd-environment.ps1')

Assert-AzdOutputs @('AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'FRESHBOOKS_REDIRECT_URI')
$sub = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$rg = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$app = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
$registered = Get-AzdValue 'FRESHBOOKS_REDIRECT_URI'
$timeout = if ($env:POSTDEPLOY_TIMEOUT_SECONDS) { [int]$env:POSTDEPLOY_TIMEOUT_SECONDS } else { 600 }
$interval = if ($env:POSTDEPLOY_RETRY_SECONDS) { [int]$env:POSTDEPLOY_RETRY_SECONDS } else { 15 }

$hostName = (az functionapp show --subscription $sub --resource-group $rg --name $app --query defaultHostName --output tsv | Out-String).Trim()
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
$actual = "https://$hostName/api/callback"
if ($actual -ne $registered) {
    [Console]::Error.WriteLine("ERROR: the app's real host name is $hostName, but the redirect URI to register (FRESHBOOKS_REDIRECT_URI, and the app's FreshBooks__RedirectUri) is $registered.")
    [Console]::Error.WriteLine("FreshBooks would send customers to a host that is not this app. An app on another host name needs its redirect URI set to $actual.")
    exit 1
}
Write-Host "Redirect URI: $registered matches the app's host name."

$referencesUrl = "/subscriptions/$sub/resourceGroups/$rg/providers/Microsoft.Web/sites/$app/config/configreferences/appsettings?api-version=2024-11-01"
$script:health = ''

# What is wrong now, or '' when every check passes.
function Test-App {
    $references = az rest --method get --url $referencesUrl --query "value[?properties.status!='Resolved'].[name, properties.status]" --output tsv 2>$null
    if ($LASTEXITCODE -eq 0) {
        $unresolved = ($references | Where-Object { $_ }) -replace "`t", ' '
        if ($unresolved) { return "Key Vault references not resolved (setting, status): $($unresolved -join '; ')" }
    }
    else {
        $global:LASTEXITCODE = 0
        [Console]::Error.WriteLine('(Could not read the Key Vault reference status; /api/health still tells.)')
    }
    try {
        $response = Invoke-WebRequest -Uri "https://$hostName/api/health" -TimeoutSec 30 -SkipHttpErrorCheck
    }
    catch {
        return "GET https://$hostName/api/health failed: $($_.Exception.Message)"
    }
    if ($response.StatusCode -ne 200) { return "GET https://$hostName/api/health answered $($response.StatusCode)" }
    $script:health = "$($response.Content)"
    if ($script:health -match '"(missing|unresolved)"') { return "GET /api/health reports settings that are not set: $($script:health)" }
    return ''
}

$watch = [System.Diagnostics.Stopwatch]::StartNew()
$restarted = $false
while ($true) {
    $failure = Test-App
    if (-not $failure) { break }
    $elapsed = [int]$watch.Elapsed.TotalSeconds
    if ($elapsed -ge $timeout) {
        [Console]::Error.WriteLine("ERROR: after ${elapsed}s: $failure")
        [Console]::Error.WriteLine('Look at the app''s Key Vault references (portal: the function app, Environment variables) and its log stream.')
        [Console]::Error.WriteLine('A new environment''s role assignments can take longer than usual: run azd deploy again in a few minutes.')
        exit 1
    }
    if (-not $restarted -and $elapsed -ge [int]($timeout / 2)) {
        Write-Host "Still failing ($failure): restarting $app so it reads its settings and storage again."
        az functionapp restart --subscription $sub --resource-group $rg --name $app --output none
        $restarted = $true
    }
    else {
        Write-Host "Waiting for the app: $failure"
    }
    Start-Sleep -Seconds $interval
}

Write-Host 'Key Vault references: resolved.'
Write-Host "Health: $($script:health)"
Write-Host "FreshBooks Connect is up at https://$hostName"
