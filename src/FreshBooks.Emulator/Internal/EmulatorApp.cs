using Microsoft.Extensions.Hosting;

namespace FreshBooks.Emulator.Internal;

/// <summary>
/// The one place the emulator's web app is wired. <see cref="FreshBooksEmulator.StartAsync"/> (embedded in a
/// test or benchmark) and Program.cs (standalone) differ only in where options and URLs come from.
/// </summary>
internal static class EmulatorApp
{
    public const string DefaultStandaloneUrl = "http://127.0.0.1:5100";

    /// <summary>Options from the caller; no config files, no command line, no Ctrl+C handling of its own.</summary>
    public static WebApplication CreateEmbedded(EmulatorOptions options, TimeProvider? time, string url)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(EmulatorApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(url);
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        return Build(builder, options, time);
    }

    /// <summary>Options from the configuration section <c>Emulator</c>; URLs from <c>--urls</c> (default <see cref="DefaultStandaloneUrl"/>).</summary>
    public static WebApplication CreateStandalone(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultStandaloneUrl);
        }

        return Build(builder, BindOptions(builder.Configuration.GetSection("Emulator")), time: null);
    }

    internal static EmulatorOptions BindOptions(IConfiguration section)
    {
        // Start from no users: the binder appends to lists, and configured users replace the default one.
        var options = new EmulatorOptions { Users = [] };
        section.Bind(options);
        if (options.Users.Count == 0)
        {
            options.Users.Add(EmulatedUser.Default);
        }

        return options;
    }

    private static WebApplication Build(WebApplicationBuilder builder, EmulatorOptions options, TimeProvider? time)
    {
        OptionsCheck.Validate(options);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var core = new EmulatorCore(options, new EmulatorClock(time));
        builder.Services.AddSingleton(core);

        var app = builder.Build();
        app.Use((context, next) => CallInfo.RecordAsync(context, next, core));
        app.MapGet("/oauth/authorize/", AuthorizeEndpoints.ShowAsync);
        app.MapPost("/oauth/authorize/", AuthorizeEndpoints.DecideAsync);
        app.MapPost("/auth/oauth/token", TokenEndpoints.TokenAsync);
        app.MapPost("/auth/oauth/revoke", TokenEndpoints.RevokeAsync);
        app.MapGet("/auth/api/v1/users/me", ApiEndpoints.MeAsync);
        app.MapGet("/accounting/account/{accountId}/users/clients", ApiEndpoints.ListClientsAsync);
        app.MapPost("/accounting/account/{accountId}/users/clients", ApiEndpoints.CreateClientAsync);
        app.MapGet("/accounting/account/{accountId}/users/clients/{clientId}", ApiEndpoints.GetClientAsync);
        app.MapGet("/accounting/account/{accountId}/invoices/invoices", ApiEndpoints.ListInvoicesAsync);
        app.MapPost("/accounting/account/{accountId}/invoices/invoices", ApiEndpoints.CreateInvoiceAsync);
        app.MapGet("/accounting/account/{accountId}/invoices/invoices/{invoiceId}", ApiEndpoints.GetInvoiceAsync);
        app.MapGet("/projects/business/{businessId}/projects", ApiEndpoints.ListProjectsAsync);
        app.MapGet("/timetracking/business/{businessId}/time_entries", ApiEndpoints.ListTimeEntriesAsync);
        AdminEndpoints.Map(app);
        return app;
    }

    /// <summary>An embedded emulator stops when disposed, never on the host process's signals.</summary>
    private sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
