using System.Net;
using FreshBooksConnect.Connections;
using FreshBooksConnect.Connections.Internal;
using FreshBooksConnect.Consent;
using FreshBooksConnect.Consent.Internal;
using FreshBooksConnect.Diagnostics;
using FreshBooksConnect.Events;
using FreshBooksConnect.Events.Internal;
using FreshBooksConnect.FreshBooks;
using FreshBooksConnect.FreshBooks.Internal;
using FreshBooksConnect.Proxy;
using FreshBooksConnect.Proxy.Internal;
using FreshBooksConnect.Renewal;
using FreshBooksConnect.Renewal.Internal;
using FreshBooksConnect.Security;
using FreshBooksConnect.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace Microsoft.Extensions.DependencyInjection;

public static class FreshBooksConnectServiceCollectionExtensions
{
    /// <summary>
    /// Everything the product needs, bound from <paramref name="configuration"/> and validated at start-up. The one registration
    /// the function app, the local host and the tests share; defaults are added with TryAdd so a host or test can replace one piece.
    /// </summary>
    public static IServiceCollection AddFreshBooksConnect(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddLogging();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);

        services.AddOptions<FreshBooksOptions>().Bind(configuration.GetSection(FreshBooksOptions.SectionName)).ValidateOnStart();
        services.AddOptions<StorageOptions>().Configure(o => StorageOptions.Bind(o, configuration)).ValidateOnStart();
        services.AddOptions<TokenProtectionOptions>().Bind(configuration.GetSection(TokenProtectionOptions.SectionName)).ValidateOnStart();
        services.AddOptions<OnboardingOptions>().Bind(configuration.GetSection(OnboardingOptions.SectionName)).ValidateOnStart();
        services.AddOptions<RenewalOptions>().Bind(configuration.GetSection(RenewalOptions.SectionName)).ValidateOnStart();
        services.AddOptions<EventsOptions>().Bind(configuration.GetSection(EventsOptions.SectionName)).ValidateOnStart();
        services.AddOptions<TokenCacheOptions>().Bind(configuration.GetSection(TokenCacheOptions.SectionName)).ValidateOnStart();
        services.AddOptions<ProxyOptions>().Bind(configuration.GetSection(ProxyOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FreshBooksOptions>, FreshBooksOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FreshBooksOptions>>(new SampleKeysValidator(configuration)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenProtectionOptions>, TokenProtectionOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnboardingOptions>, OnboardingOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RenewalOptions>, RenewalOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventsOptions>, EventsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TokenCacheOptions>, TokenCacheOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProxyOptions>, ProxyOptionsValidator>());

        services.TryAddSingleton(sp => new StorageClients(sp.GetRequiredService<IOptions<StorageOptions>>()));
        services.AddHostedService<StorageInitializer>();
        services.TryAddSingleton<ITokenProtector, TokenKeyRing>();
        services.TryAddSingleton<ConnectionTokenCache>();
        services.TryAddSingleton<IConnectionStore, TableConnectionStore>();
        services.TryAddSingleton<IConnectionCensus, TableConnectionCensus>();
        services.TryAddSingleton<IConsentStateStore, TableConsentStateStore>();
        services.TryAddSingleton<ILinkUseStore, TableLinkUseStore>();
        services.TryAddSingleton<TableRenewalIndex>();
        services.TryAddSingleton<IRenewalIndex>(sp => sp.GetRequiredService<TableRenewalIndex>());
        services.TryAddSingleton<IRenewalIndexWriter>(sp => sp.GetRequiredService<TableRenewalIndex>());
        services.TryAddSingleton<IRenewalQueue, StorageRenewalQueue>();
        services.TryAddSingleton<IConnectionLease, ConnectionLease>();
        services.TryAddSingleton<InFlightRenewals>();
        services.TryAddSingleton<UnsavedRenewals>();
        services.AddHostedService(sp => sp.GetRequiredService<UnsavedRenewals>());
        services.TryAddSingleton<StorageRetries>();
        services.TryAddSingleton<RefreshRetries>();
        services.TryAddSingleton<RenewalSchedule>();
        services.TryAddSingleton<RenewalMetrics>();
        services.TryAddSingleton<ConnectionCount>();
        services.TryAddTransient<TokenReencryption>();
        services.TryAddSingleton<OnboardingLinks>();
        services.TryAddSingleton<StartThrottle>();
        services.TryAddSingleton<IEventOutbox, TableEventOutbox>();
        services.TryAddSingleton<IEventFeed, TableEventFeed>();
        services.TryAddSingleton<EventSweep>();
        services.TryAddSingleton<ConnectionEventFeed>();
        services.TryAddSingleton<ConsentStatePurge>();
        services.TryAddSingleton<RenewalSweep>();

        // Everything that talks to FreshBooks is transient, like the typed client it holds.
        services.AddHttpClient<IFreshBooksClient, FreshBooksClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<FreshBooksOptions>>().Value;
                http.BaseAddress = options.ApiUrl.AbsoluteUri.EndsWith('/') ? options.ApiUrl : new Uri(options.ApiUrl.AbsoluteUri + "/");

                // The resilience handler's time-out (below) limits each call; the client's own would cut a retried GET short.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RedactLoggedHeaders(_ => true)
            .AddResilienceHandler("freshbooks", (builder, context) =>
            {
                // Only users/me and revoke are tried again (a revoke that fails leaves a grant live that nobody holds); a 429 only
                // when its Retry-After is short.
                builder.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(500),
                    ShouldHandle = args => ValueTask.FromResult(
                        FreshBooksClient.IsRepeatable(args.Context.GetRequestMessage())
                        && HttpClientResiliencePredicates.IsTransient(args.Outcome)
                        && !(args.Outcome.Result?.Headers.RetryAfter?.Delta > FreshBooksClient.MaxInlineRetryAfter)),
                });

                // FreshBooks__Timeout per call (each try of a retried GET): the bound the lease validation counts.
                builder.AddTimeout(context.ServiceProvider.GetRequiredService<IOptions<FreshBooksOptions>>().Value.Timeout);
            });
        // A receiver's redirect is not followed: a webhook URL is configured exactly. Its time-out is Events__DeliveryTimeout.
        services.AddHttpClient<IWebhookSender, WebhookSender>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler { AllowAutoRedirect = false })
            .RedactLoggedHeaders(_ => true);
        services.TryAddTransient<EventDelivery>();
        services.TryAddTransient<IConnectionRenewer, ConnectionRenewer>();
        services.TryAddTransient<RenewalWorker>();
        services.TryAddTransient<ConsentService>();
        services.TryAddTransient<ConnectionTokenService>();
        services.TryAddTransient<ConnectionRemoval>();

        // The proxy: YARP's forwarder over its own pooled connections to FreshBooks (not the typed client's resilience pipeline:
        // a proxied call is the SaaS's to retry, and FreshBooks' 429 and 5xx go back to it as they are).
        services.AddHttpForwarder();

        // YARP logs each destination URL at Information: the customer's ids and query. Its warnings and errors stay.
        services.AddLogging(logging => logging.AddFilter("Yarp", LogLevel.Warning));
        services.TryAddSingleton(sp => new ProxyHttpInvoker(sp.GetRequiredService<IOptions<FreshBooksOptions>>().Value));
        services.TryAddSingleton<ProxyConcurrency>();
        services.TryAddSingleton<ProxyMetrics>();
        services.TryAddTransient(sp => new FreshBooksProxy(
            sp.GetRequiredService<ConnectionTokenService>(),
            sp.GetRequiredService<Yarp.ReverseProxy.Forwarder.IHttpForwarder>(),
            sp.GetRequiredService<ProxyHttpInvoker>(),
            sp.GetRequiredService<ProxyConcurrency>(),
            sp.GetRequiredService<ProxyMetrics>(),
            sp.GetRequiredService<IOptions<ProxyOptions>>().Value,
            sp.GetRequiredService<IOptions<FreshBooksOptions>>().Value,
            sp.GetRequiredService<ILogger<FreshBooksProxy>>()));
        return services;
    }
}
