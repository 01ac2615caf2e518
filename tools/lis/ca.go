package main

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lis-fs/lis/metaservice/clustertls"
)

func init() {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Make the cluster CA and issue node certificates (mutual TLS between daemons)",
		Long: `Lis daemons on different hosts talk over mutual TLS 1.3, authenticated by a
cluster CA: "lis ca init DIR" makes the CA, "lis ca issue ... DIR" a node's
certificate in DIR/NODE, a directory to copy to that node's host and give to
lis metaservice, lis dataserver or lis mount with --tls-dir. Keep DIR itself
(ca.key signs every node) off the cluster's hosts.

A certificate names its node (a dataserver's name is its --id) and its roles:
metaservice, dataserver, client. Dataservers take leases, replica lists and
deletions only from a metaservice certificate, and replication only from a
dataserver certificate; the metaservice takes a dataserver's heartbeats only
from the certificate of that dataserver. Certificates of another CA, expired
ones and plaintext peers are refused on TCP; unix sockets stay plaintext, for
the co-located client.`,
		Example: `  lis ca init /root/lis-ca
  lis ca issue --name meta --role metaservice --ip 10.0.0.5 /root/lis-ca
  lis ca issue --name perth-1 --ip 10.0.1.7 --dns perth-1.example.net /root/lis-ca
  lis ca issue --name laptop --role client /root/lis-ca`,
	}
	cmd.AddCommand(caInitCommand(), caIssueCommand())
	rootCmd.AddCommand(cmd)
}

func caInitCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Make a cluster CA in DIR (ca.crt, and ca.key readable by its owner only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := clustertls.InitCA(args[0]); err != nil {
				return err
			}
			fmt.Printf("lis: cluster CA made in %s; issue node certificates with: lis ca issue --name NODE %s\n", args[0], args[0])
			return nil
		},
	}
}

// caIssueFlags are the flags of `lis ca issue`.
type caIssueFlags struct {
	name            string
	roles, ips, dns []string
	days            int
}

func caIssueCommand() *cobra.Command {
	var fl caIssueFlags
	cmd := &cobra.Command{
		Use:   "issue --name NODE [--role R ...] [--ip IP ...] [--dns NAME ...] [--days N] DIR",
		Short: "Issue a node certificate signed by the CA in DIR, into DIR/NODE",
		Long: `Issue a node certificate signed by the cluster CA in DIR and write the node
directory DIR/NODE (ca.crt, node.crt, node.key) for --tls-dir. The certificate
serves as both server and client certificate. It is valid for the addresses
given with --ip and --dns, which must include every address other nodes reach
the node at (its --listen or --advertise); with neither, for 127.0.0.1, ::1,
localhost and NODE (one machine). Default roles: dataserver and client; a
metaservice gets --role metaservice.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return runCAIssue(args[0], fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.name, "name", "", "node name: a dataserver's --id, or a name for a metaservice or client")
	f.StringSliceVar(&fl.roles, "role", nil, "role: metaservice, dataserver or client; repeat for several (default dataserver,client)")
	f.StringSliceVar(&fl.ips, "ip", nil, "IP address the node is reached at; repeat for several")
	f.StringSliceVar(&fl.dns, "dns", nil, "DNS name the node is reached at; repeat for several")
	f.IntVar(&fl.days, "days", 365, "days the certificate is valid")
	cmd.MarkFlagRequired("name")
	return cmd
}

func runCAIssue(caDir string, fl caIssueFlags) error {
	if fl.days < 1 {
		return fmt.Errorf("--days %d: a certificate is valid for 1 day or more", fl.days)
	}
	roles := fl.roles
	if len(roles) == 0 {
		roles = []string{clustertls.RoleDataserver, clustertls.RoleClient}
	}
	for _, r := range roles {
		if err := clustertls.CheckRole(r); err != nil {
			return fmt.Errorf("--role: %w", err)
		}
	}
	ips, err := parseIPs(fl.ips)
	if err != nil {
		return err
	}
	if err := checkDNSNames(fl.dns); err != nil {
		return err
	}
	dir, err := clustertls.Issue(caDir, fl.name, roles, ips, fl.dns, time.Duration(fl.days)*24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Printf("lis: node %s (%s) issued in %s: copy it to the node's host and give it with --tls-dir\n",
		fl.name, strings.Join(roles, ","), dir)
	return nil
}

func parseIPs(list []string) ([]net.IP, error) {
	var out []net.IP
	for _, s := range list {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("--ip %q: not an IP address (give a DNS name with --dns)", s)
		}
		out = append(out, ip)
	}
	return out, nil
}

// checkDNSNames refuses what cannot be a host name in a certificate.
func checkDNSNames(list []string) error {
	for _, s := range list {
		ok := s != "" && len(s) <= 253 && !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".")
		for _, c := range s {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._*", c))
		}
		if !ok {
			return fmt.Errorf("--dns %q: not a DNS name", s)
		}
	}
	return nil
}
