using System.Text.Json.Nodes;

namespace FreshBooksConnect.Infra.Tests.Infrastructure;

/// <summary>
/// A folder in which the azd hooks (infra/hooks/*.sh) run as azd runs them, by sh, against stand-ins
/// on the PATH: <c>azd</c> keeps the environment's values in a NAME=VALUE file, <c>az</c> keeps a Key
/// Vault as one file per secret and answers the few commands the hooks use, <c>curl</c> answers the
/// health check. Every stand-in records its arguments, so a test can look for a secret in them.
/// </summary>
internal sealed class HookSandbox : IDisposable
{
    public const string Subscription = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    public const string ResourceGroup = "rg-fbc-test";
    public const string Vault = "kv-test0token";
    public const string App = "func-api-test0token";
    public const string HostName = App + ".azurewebsites.net";

    private const string FakeAzd = """
        #!/bin/sh
        # Stand-in for azd: "env get-value NAME" and "env set NAME VALUE" on $FAKE_AZD_ENV (NAME=VALUE lines, last wins).
        printf '%s\n' "$*" >> "$FAKE_STATE/azd-argv.log"
        if [ "$1" = provision ]; then
          # Records the provision with the key ids it would pass (what a provision makes of the environment).
          printf 'TOKEN_KEY_PENDING=%s\n' "$(grep '^TOKEN_KEY_PENDING=' "$FAKE_AZD_ENV" | tail -n 1 | cut -d= -f2-)" >> "$FAKE_STATE/provisions.log"
          exit 0
        fi
        [ "$1" = env ] || { echo "fake azd: unsupported: $*" >&2; exit 2; }
        case "$2" in
          get-value)
            line=$(grep "^$3=" "$FAKE_AZD_ENV" | tail -n 1) || { echo "ERROR: key '$3' not found in the environment values" >&2; exit 1; }
            [ -n "${line#*=}" ] || { echo "ERROR: key '$3' not found in the environment values" >&2; exit 1; }
            printf '%s\n' "${line#*=}" ;;
          set)
            printf '%s=%s\n' "$3" "$4" >> "$FAKE_AZD_ENV" ;;
          *)
            echo "fake azd: unsupported: $*" >&2; exit 2 ;;
        esac
        """;

    private const string FakeAz = """
        #!/usr/bin/env node
        // Stand-in for the Azure CLI: the commands the hooks use, on the files in $FAKE_STATE.
        const fs = require('fs');
        const path = require('path');
        const state = process.env.FAKE_STATE;
        const args = process.argv.slice(2);
        fs.appendFileSync(path.join(state, 'az-argv.log'), JSON.stringify(args) + '\n');
        const file = name => path.join(state, name);
        const has = name => fs.existsSync(file(name));
        const read = name => fs.readFileSync(file(name), 'utf8');
        const option = name => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
        const fail = (code, message) => { process.stderr.write(message + '\n'); process.exit(code); };
        const restarts = () => has('restarts') ? read('restarts').split('\n').filter(Boolean).length : 0;
        const command = args.slice(0, 3).join(' ');
        const secretParameters = { tokenEncryptionKey: 'token-encryption-key', onboardingSigningKey: 'onboarding-signing-key', eventsSigningSecret: 'events-signing-secret' };

        if (command.startsWith('account show')) {
          if (has('signed-out')) fail(1, "ERROR: Please run 'az login' to setup account.");
          process.stdout.write(option('--subscription') + '\n');
        } else if (command.startsWith('resource show')) {
          if (has('resource-show-error')) fail(1, read('resource-show-error'));
          const match = /\/vaults\/([^/]+)\/secrets\/([^/]+)$/.exec(option('--ids') || '');
          if (!match || match[1] !== process.env.FAKE_VAULT) fail(2, 'fake az: unexpected resource id ' + option('--ids'));
          if (!fs.existsSync(path.join(state, 'vault', match[2]))) fail(3, `ERROR: (ResourceNotFound) The Resource 'Microsoft.KeyVault/vaults/${match[1]}/secrets/${match[2]}' was not found.`);
          process.stdout.write(match[2] + '\n');
        } else if (command === 'deployment group create') {
          const parameters = option('--parameters');
          if (!parameters || !parameters.startsWith('@')) fail(2, 'fake az: parameters must come from a file');
          const parametersFile = parameters.slice(1);
          const template = option('--template-file');
          if (!template || !fs.existsSync(template)) fail(2, 'fake az: no template file ' + template);
          const values = JSON.parse(fs.readFileSync(parametersFile, 'utf8')).parameters;
          fs.appendFileSync(file('deployments.log'), JSON.stringify({
            name: option('--name'), resourceGroup: option('--resource-group'), template: path.basename(template),
            parametersFile, mode: (fs.statSync(parametersFile).mode & 0o777).toString(8), parameters: Object.keys(values),
          }) + '\n');
          if (values.vaultName.value !== process.env.FAKE_VAULT) fail(1, 'fake az: (ResourceNotFound) vault ' + values.vaultName.value);
          for (const [parameter, secret] of Object.entries(secretParameters)) {
            if (values[parameter] && values[parameter].value) fs.writeFileSync(path.join(state, 'vault', secret), values[parameter].value);
          }
          if (values.newTokenKeyId && values.newTokenKey) fs.writeFileSync(path.join(state, 'vault', 'token-encryption-key-' + values.newTokenKeyId.value), values.newTokenKey.value);
        } else if (command.startsWith('keyvault show')) {
          if (option('--name') !== process.env.FAKE_VAULT || !has('vault-retention')) fail(3, 'ERROR: (ResourceNotFound) The Resource was not found.');
          process.stdout.write(read('vault-retention') + '\n');
        } else if (command.startsWith('functionapp restart')) {
          fs.appendFileSync(file('restarts'), 'restart\n');
        } else if (command.startsWith('functionapp show')) {
          process.stdout.write((has('hostname') ? read('hostname') : process.env.FAKE_HOST) + '\n');
        } else if (command.startsWith('functionapp keys list')) {
          process.stdout.write((has('master-key') ? read('master-key') : 'fake-master-key-0123456789') + '\n');
        } else if (args[0] === 'rest' && /\/vaults\/[^/]+\/secrets\?/.test(option('--url') || '')) {
          // The vault's secrets' names (metadata), without the disabled ones (state file "disabled": one name a line).
          if (has('secrets-list-error')) fail(1, 'ERROR: (AuthorizationFailed) fake');
          const disabled = has('disabled') ? read('disabled').split('\n') : [];
          process.stdout.write(fs.readdirSync(path.join(state, 'vault')).filter(name => !disabled.includes(name)).map(name => name + '\n').join(''));
        } else if (args[0] === 'rest') {
          if (has('references-error')) fail(1, 'ERROR: (NotFound) fake');
          const unresolved = has('unresolved') && !(has('unresolved-until-restart') && restarts() > 0) ? read('unresolved') : '';
          process.stdout.write(unresolved);
        } else {
          fail(2, 'fake az: unsupported: ' + args.join(' '));
        }
        """;

    private const string FakeCurl = """
        #!/usr/bin/env node
        // Stand-in for curl against /api/health: writes the body to --output, prints the status for --write-out.
        const fs = require('fs');
        const path = require('path');
        const state = process.env.FAKE_STATE;
        const args = process.argv.slice(2);
        fs.appendFileSync(path.join(state, 'curl-argv.log'), JSON.stringify(args) + '\n');
        const has = name => fs.existsSync(path.join(state, name));
        const read = name => fs.readFileSync(path.join(state, name), 'utf8');
        const restarts = has('restarts') ? read('restarts').split('\n').filter(Boolean).length : 0;
        const url = args[args.length - 1];
        if (url.startsWith('https://' + process.env.FAKE_HOST + '/api/keys')) {
          // The keys routes: the master key must come on stdin (curl --config -), and each GET answers the next of "keys-bodies".
          const config = args.includes('--config') ? fs.readFileSync(0, 'utf8') : '';
          fs.appendFileSync(path.join(state, 'curl-config.log'), config);
          const master = has('master-key') ? read('master-key') : 'fake-master-key-0123456789';
          if (!config.includes('x-functions-key: ' + master)) { fs.writeFileSync(args[args.indexOf('--output') + 1], ''); process.stdout.write('401'); process.exit(0); }
          let body = '{}';
          if (url.endsWith('/api/keys')) {
            const bodies = read('keys-bodies').split('\n').filter(Boolean);
            const served = has('keys-served') ? Number(read('keys-served')) : 0;
            fs.writeFileSync(path.join(state, 'keys-served'), String(served + 1));
            body = bodies[Math.min(served, bodies.length - 1)];
          }
          fs.writeFileSync(args[args.indexOf('--output') + 1], body);
          process.stdout.write('200');
          process.exit(0);
        }
        if (url !== 'https://' + process.env.FAKE_HOST + '/api/health') { process.stderr.write('fake curl: unexpected ' + url + '\n'); process.exit(6); }
        const down = has('health-down') || (has('health-down-until-restart') && restarts === 0);
        const body = down ? 'Service Unavailable' : (has('health-body') ? read('health-body') : '{"status":"ok","settings":{"FreshBooks__ClientSecret":"set","Onboarding__SigningKey":"set","TokenProtection__Keys__k1":"set"}}');
        fs.writeFileSync(args[args.indexOf('--output') + 1], body);
        process.stdout.write(down ? '503' : '200');
        """;

    public HookSandbox()
    {
        Directory.CreateDirectory(Bin);
        Directory.CreateDirectory(Path.Combine(State, "vault"));
        WriteExecutable("azd", FakeAzd);
        WriteExecutable("az", FakeAz);
        WriteExecutable("curl", FakeCurl);
        File.WriteAllText(EnvFile, "");
    }

    public string Folder { get; } = Directory.CreateTempSubdirectory("hooks-").FullName;

    private string Bin => Path.Combine(Folder, "bin");

    private string State => Path.Combine(Folder, "state");

    private string EnvFile => Path.Combine(Folder, "azd.env");

    public string EnvFileText => File.ReadAllText(EnvFile);

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    /// <summary>Appends NAME=VALUE to the azd environment (what <c>azd env set</c> does).</summary>
    public void Store(string name, string value) => File.AppendAllText(EnvFile, $"{name}={value}\n");

    public void StoreCredentials()
    {
        Store("FRESHBOOKS_CLIENT_ID", "client-123");
        Store("FRESHBOOKS_CLIENT_SECRET", "secret-456");
    }

    /// <summary>What a provision of main.bicep leaves in the azd environment (its outputs), with the subscription azd keeps.</summary>
    public void StoreProvisionOutputs()
    {
        Store("AZURE_SUBSCRIPTION_ID", Subscription);
        Store("AZURE_RESOURCE_GROUP", ResourceGroup);
        Store("AZURE_KEY_VAULT_NAME", Vault);
        Store("AZURE_FUNCTION_APP_NAME", App);
        Store("FRESHBOOKS_REDIRECT_URI", $"https://{HostName}/api/callback");
    }

    /// <summary>The azd environment, last value wins, empty values dropped (as azd env get-value sees it).</summary>
    public Dictionary<string, string> Env() =>
        File.ReadAllLines(EnvFile)
            .Where(line => line.Contains('=', StringComparison.Ordinal))
            .Select(line => line.Split('=', 2))
            .GroupBy(pair => pair[0])
            .Select(group => (group.Key, Value: group.Last()[1]))
            .Where(pair => pair.Value.Length > 0)
            .ToDictionary(pair => pair.Key, pair => pair.Value);

    /// <summary>Puts a secret in the fake vault, as an earlier provision would have.</summary>
    public void StoreSecret(string name, string value) => File.WriteAllText(Path.Combine(State, "vault", name), value);

    /// <summary>The fake vault: secret name to its stored text.</summary>
    public Dictionary<string, string> Secrets() =>
        Directory.EnumerateFiles(Path.Combine(State, "vault"))
            .ToDictionary(path => Path.GetFileName(path), File.ReadAllText);

    /// <summary>Sets a state file the stand-ins read (see the fakes above for the names).</summary>
    public void SetState(string name, string content = "") => File.WriteAllText(Path.Combine(State, name), content);

    /// <summary>Each <c>azd provision</c> the scripts ran, as the TOKEN_KEY_PENDING it ran with.</summary>
    public List<string> Provisions() =>
        File.Exists(Path.Combine(State, "provisions.log")) ? [.. File.ReadAllLines(Path.Combine(State, "provisions.log"))] : [];

    /// <summary>What curl read on its standard input (the keys routes' master key header).</summary>
    public string CurlConfig => File.Exists(Path.Combine(State, "curl-config.log")) ? File.ReadAllText(Path.Combine(State, "curl-config.log")) : "";

    public int Restarts =>
        File.Exists(Path.Combine(State, "restarts")) ? File.ReadAllLines(Path.Combine(State, "restarts")).Length : 0;

    /// <summary>The ARM deployments az was asked for, as the fake logged them.</summary>
    public List<JsonObject> Deployments() => JsonLines("deployments.log").Select(node => node.AsObject()).ToList();

    /// <summary>Every argument list any stand-in (azd, az, curl) was started with, joined by spaces.</summary>
    public List<string> AllArguments()
    {
        var arguments = JsonLines("az-argv.log").Concat(JsonLines("curl-argv.log"))
            .Select(node => string.Join(' ', node.AsArray().Select(item => (string?)item)))
            .ToList();
        var azd = Path.Combine(State, "azd-argv.log");
        if (File.Exists(azd))
        {
            arguments.AddRange(File.ReadAllLines(azd));
        }

        return arguments;
    }

    /// <summary>The az commands run, as "group command" (e.g. "functionapp restart").</summary>
    public List<string> AzCommands() =>
        JsonLines("az-argv.log").Select(node => string.Join(' ', node.AsArray().Take(2).Select(item => (string?)item))).ToList();

    /// <summary>Runs infra/hooks/<paramref name="hook"/> (or, for <c>../scripts/x.sh</c>, a script) as azd would.</summary>
    public Task<ProcessResult> RunAsync(string hook, IReadOnlyDictionary<string, string?>? extra = null, params string[] arguments)
    {
        var environment = new Dictionary<string, string?>
        {
            ["PATH"] = $"{Bin}:{Environment.GetEnvironmentVariable("PATH")}",
            ["FAKE_AZD_ENV"] = EnvFile,
            ["FAKE_STATE"] = State,
            ["FAKE_VAULT"] = Vault,
            ["FAKE_HOST"] = HostName,
            ["ROLE_PROPAGATION_WAIT_SECONDS"] = "0",

            // Generous, so a run that succeeds does so under CI load too; a test of the time-out itself sets a short one.
            ["POSTDEPLOY_TIMEOUT_SECONDS"] = "60",
            ["POSTDEPLOY_RETRY_SECONDS"] = "1",
            ["ROTATION_POLL_SECONDS"] = "0",
            ["ROTATION_TIMEOUT_SECONDS"] = "60",
        };

        // Only the (fake) azd environment counts, not the test runner's own variables.
        foreach (var name in new[]
        {
            "FRESHBOOKS_CLIENT_ID", "FRESHBOOKS_CLIENT_SECRET", "FRESHBOOKS_REDIRECT_URI", "TOKEN_ENCRYPTION_KEY", "ONBOARDING_SIGNING_KEY",
            "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZURE_KEY_VAULT_NAME", "AZURE_FUNCTION_APP_NAME", "KEY_VAULT_RETENTION_DAYS",
            "SERVICE_API_URI", "TOKEN_KEY_IDS", "TOKEN_CURRENT_KEY_ID", "TOKEN_KEY_PENDING",
        })
        {
            environment[name] = null;
        }

        foreach (var (name, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        // HOOK_SHELL=pwsh runs the Windows twin (hook.ps1) instead, where PowerShell is installed; the
        // postdeploy twin calls the network itself (Invoke-WebRequest), so only sh runs that one here.
        if (Environment.GetEnvironmentVariable("HOOK_SHELL") == "pwsh" && !hook.StartsWith("postdeploy", StringComparison.Ordinal))
        {
            return ProcessRunner.RunAsync("pwsh", ["-NoProfile", "-NonInteractive", "-File", Repo.PathTo("infra", "hooks", Path.ChangeExtension(hook, ".ps1"))], Repo.Root, environment, TimeSpan.FromMinutes(1));
        }

        return ProcessRunner.RunAsync("sh", [Repo.PathTo("infra", "hooks", hook), .. arguments], Repo.Root, environment, TimeSpan.FromMinutes(1));
    }

    private IEnumerable<JsonNode> JsonLines(string name)
    {
        var path = Path.Combine(State, name);
        return File.Exists(path)
            ? File.ReadAllLines(path).Where(line => line.Length > 0).Select(line => JsonNode.Parse(line)!)
            : [];
    }

    /// <summary>Puts one more stand-in on the PATH (e.g. <c>dotnet</c>, recording its arguments to <c>$FAKE_STATE/name-argv.log</c>).</summary>
    public void AddStandIn(string name, string script) => WriteExecutable(name, script);

    public string StateFile(string name) => Path.Combine(State, name);

    private void WriteExecutable(string name, string script)
    {
        var path = Path.Combine(Bin, name);
        File.WriteAllText(path, script.ReplaceLineEndings("\n") + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
